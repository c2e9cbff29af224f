/* Reference: a raw libzmq ROUTER server with readmitd's front-socket options (ZMQ_LINGER,
 * ZMQ_SNDHWM 1000, ZMQ_ROUTER_MANDATORY, ZMQ_RCVTIMEO 100 ms) that answers every request with a
 * reply shaped like readmitd's one-row SCORE reply: the envelope, a 24-byte reply header, the
 * counts, a risk, an atypicality and a tier (seven frames, the first sent with ZMQ_DONTWAIT, as
 * the broker sends), its values made up, nothing read or scored. Against the REQ/REP echo it
 * is the share of a round trip that readmitd's socket pattern and reply shape cost, before any
 * of readmitd's own work. Usage: router_server ENDPOINT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define MAX_PARTS 2048

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: router_server ENDPOINT\n"); return 2; }
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int linger = 2000, hwm = 1000, mandatory = 1, timeout = 100;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind(s, argv[1]) != 0) { fprintf(stderr, "bind %s: %s\n", argv[1], zmq_strerror(zmq_errno())); return 1; }
    static zmq_msg_t parts[MAX_PARTS];
    for (;;) {
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t *m = &parts[n < MAX_PARTS ? n : MAX_PARTS - 1];
            if (n >= MAX_PARTS) zmq_msg_close(m);
            zmq_msg_init(m);
            if (zmq_msg_recv(m, s, 0) < 0) {
                zmq_msg_close(m);
                if (zmq_errno() == EAGAIN && n == 0) goto next;  /* ZMQ_RCVTIMEO with nothing to read */
                fprintf(stderr, "router_server: receive: %s\n", zmq_strerror(zmq_errno()));
                return 1;
            }
            more = zmq_msg_more(m);
            if (n < MAX_PARTS) n++;
        }
        if (n >= 3) {  /* identity, delimiter, request header, ... */
            uint8_t header[24] = {'R', 'D', 'M', 'T', 2, 1, 0, 0};
            if (zmq_msg_size(&parts[2]) >= 16) memcpy(header + 8, (const uint8_t *)zmq_msg_data(&parts[2]) + 8, 8);
            const uint32_t counts[2] = {1, 0};
            const double risk = 0.125, atypicality = 0.5;
            const uint8_t tier = 1;
            if (zmq_msg_send(&parts[0], s, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
                zmq_msg_send(&parts[1], s, ZMQ_SNDMORE);
                zmq_send(s, header, sizeof header, ZMQ_SNDMORE);
                zmq_send(s, counts, sizeof counts, ZMQ_SNDMORE);
                zmq_send(s, &risk, sizeof risk, ZMQ_SNDMORE);
                zmq_send(s, &atypicality, sizeof atypicality, ZMQ_SNDMORE);
                zmq_send(s, &tier, sizeof tier, 0);
                for (int i = 2; i < n; i++) zmq_msg_close(&parts[i]);
                continue;
            }
        }
        for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
    next:;
    }
}
