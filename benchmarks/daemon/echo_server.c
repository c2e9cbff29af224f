/* Reference: a raw libzmq REP server that echoes every multipart message unchanged
 * (zero-copy: the received parts are sent back as they are). The floor for a request/reply
 * round trip on this machine; readmitd's single-row SCORE is compared against it.
 * Usage: echo_server ENDPOINT */
#include <stdio.h>
#include <zmq.h>

#define MAX_PARTS 2048 /* a raw-records request has two frames per field */

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: echo_server ENDPOINT\n"); return 2; }
    void *ctx = zmq_ctx_new();
    void *rep = zmq_socket(ctx, ZMQ_REP);
    if (zmq_bind(rep, argv[1]) != 0) { fprintf(stderr, "bind %s: %s\n", argv[1], zmq_strerror(zmq_errno())); return 1; }
    zmq_msg_t parts[MAX_PARTS];
    for (;;) {
        int n = 0, more = 1;
        /* REP must read the whole request before it may reply. */
        while (more) {
            zmq_msg_t *m = &parts[n < MAX_PARTS ? n : MAX_PARTS - 1];
            if (n >= MAX_PARTS) zmq_msg_close(m);  /* keep the last slot for overflow parts */
            zmq_msg_init(m);
            if (zmq_msg_recv(m, rep, 0) < 0) { fprintf(stderr, "echo_server: receive: %s\n", zmq_strerror(zmq_errno())); goto done; }
            more = zmq_msg_more(m);
            if (n < MAX_PARTS) n++;
        }
        for (int i = 0; i < n; i++) {
            if (zmq_msg_send(&parts[i], rep, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) {
                fprintf(stderr, "echo_server: send: %s\n", zmq_strerror(zmq_errno()));
                goto done;
            }
        }
    }
done:
    zmq_close(rep);
    zmq_ctx_term(ctx);
    return 0;
}
