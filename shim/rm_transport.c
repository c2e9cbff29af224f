/*
 * rm_transport.c: one request/reply exchange with readmitd over a ZeroMQ REQ socket.
 *
 * Reliability (the "Lazy Pirate" pattern of the ZeroMQ guide): every send and receive is
 * bounded by ZMQ_SNDTIMEO/ZMQ_RCVTIMEO set to the time left of the attempt; on a timeout the
 * REQ socket (stuck waiting for its reply) is closed with linger 0 and a fresh one is
 * connected, to another endpoint when there are several, and the request is resent while
 * retries remain.
 *
 * Several endpoints (load balancing): the client holds one REQ socket per endpoint (a "peer").
 * Each request goes to the next peer in rotation (round robin over the peers that are up). A
 * peer whose connection fails or drops (the monitor below says so within about a second of a
 * daemon's death) is taken out of rotation, its socket closed; it is probed again with a fresh
 * socket every RM_PROBE_MS while calls are made, and comes back into rotation when that
 * connects. A request that fails on one peer (unavailable, timed out, or the daemon not ready
 * or overloaded) is resent to another: every request is idempotent (a pure function of its
 * frames and the serving model), so resending is safe. rm_transport_split sends the chunks of
 * a large batch to several peers at once (zmq_poll over their sockets). Every reply is validated before anything reads it: frame count, header size,
 * magic, version, op, request id, total size; payload sizes are checked by the callers against
 * what they asked for.
 *
 * Failing fast: a socket monitor (zmq_socket_monitor) reports the REQ socket's connection
 * events. A connection attempt that fails (refused, no ipc socket file, no answer to the TCP
 * connect within RM_CONNECT_TIMEOUT_MS), also the reconnect after the daemon's connection
 * dropped, makes the endpoint unavailable at once: the client moves to the next endpoint and,
 * when every endpoint is unavailable, returns READMIT_EUNAVAILABLE instead of waiting out the
 * timeout. A daemon that holds its connection but does not answer (busy, SIGSTOPped) gets the
 * full timeout. ZeroMQ heartbeats are deliberately not used: they would also drop a frozen
 * daemon's connection, and only the timeout may give up on a daemon that may still answer.
 *
 * Waits are cut in slices of at most READMIT_INTERRUPT_SLICE_MS; between slices the monitor is
 * read and the caller's interrupt check (if any) is called.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rm_internal.h"

static int64_t rm_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rm_sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Called by libzmq (possibly on its I/O thread) when a zero-copy payload is no longer used.
 * `hint` counts the zero-copy frames of the request that libzmq still holds. */
static void rm_release_payload(void *data, void *hint) {
    (void)data;
    atomic_fetch_sub((atomic_int *)hint, 1);
}

/* A TCP connect that gets no answer (a host that drops SYNs) is abandoned after this long,
 * which makes the endpoint unavailable. A stopped daemon's kernel still accepts connections,
 * so this never cuts short the wait for a live daemon. */
#define RM_CONNECT_TIMEOUT_MS 1000
/* The monitor events the link state needs. */
/* A peer taken out of rotation is probed (a fresh socket connects) no more often than this. */
#define RM_PROBE_MS 200
/* After a timeout a peer is held out of rotation this long (at least), while others are up. */
#define RM_HOLD_MIN_MS 1000
/* The security handshake's outcomes (libzmq 4.3): a daemon that refuses this client's CURVE key,
 * a wrong server key or CURVE on one side only were a plain timeout, after every retry. */
#define RM_MONITOR_EVENTS \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_CLOSED | ZMQ_EVENT_DISCONNECTED | \
     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
/* A handshake the peer closes without an error: with CURVE a wrong server key (the daemon cannot
 * read the HELLO) or a daemon without CURVE; without, a daemon with CURVE (when it saw the
 * mismatch first) or a peer that does not speak ZeroMQ. Once could be a daemon going down
 * mid-handshake. */
#define RM_HANDSHAKE_DROPS_REFUSED 3

/* Outcomes of a bounded wait (sending or receiving). */
enum {
    RM_WAIT_ERROR = -1, RM_WAIT_TIMEOUT = 0, RM_WAIT_DONE = 1, RM_WAIT_UNAVAILABLE = 2, RM_WAIT_INTERRUPTED = 3,
    RM_WAIT_REFUSED = 4,
    RM_WAIT_DROPPED = 5 /* the connection dropped while a request was out: its reply can never come */
};

static void rm_link_poll(readmit_client *client, size_t i);

static void rm_peer_close(readmit_client *client, size_t i) {
    rm_peer *p = &client->peers[i];
    if (p->socket) {
        /* The monitor is stopped while our end of its pair is still open, after reading what it
         * sent. libzmq's I/O thread sends each event with a blocking send while it holds the
         * socket's monitor lock, so an event sent towards a closed pair (or a full one) blocks
         * that thread for good, and the stop waits on the lock for ever: readmit_close hung so
         * in a CI run under valgrind (an event for 'tcp://localhost:1' between the two closes). */
        rm_link_poll(client, i);
        zmq_socket_monitor(p->socket, NULL, 0);
        zmq_close(p->socket);
        p->socket = NULL;
    }
    if (p->monitor) {
        zmq_close(p->monitor);
        p->monitor = NULL;
    }
    memset(&p->link, 0, sizeof p->link);
    p->awaiting = 0;
}

/* A ZeroMQ context and its sockets do not survive fork(): the child has none of the parent's
 * I/O threads, and a lock one of them held at the fork stays taken for good, so even closing
 * an inherited socket may hang. A client used in a forked child (R's parallel::mclapply, a
 * Python multiprocessing pool with the fork start method) waited out every retry before
 * this, with "no reply within 5000 ms". The child therefore never touches the inherited
 * objects: it forgets them (their memory is the parent's pages, copied on write; libzmq's
 * descriptors are close-on-exec) and opens its own context and sockets at its first request,
 * as redis-py's connection pools do after a fork. getpid() is one system call per request,
 * against a round trip of 100 us or more. */
typedef struct rm_inherited {
    void *context;
    struct rm_inherited *next;
} rm_inherited;

/* The contexts this process inherited and forgot: kept reachable, not freed (they are the
 * parent's, and libzmq cannot free one outside its process), so that a leak checker in the
 * child (valgrind follows forks) does not report them as lost. */
static _Atomic(rm_inherited *) rm_inherited_contexts;

void rm_transport_adopt(readmit_client *client) {
    pid_t self = getpid();
    if (client->owner_pid == self) return;
    client->owner_pid = self;
    if (client->context) {
        rm_inherited *node = malloc(sizeof *node);
        if (node) {
            node->context = client->context;
            node->next = atomic_load(&rm_inherited_contexts);
            while (!atomic_compare_exchange_weak(&rm_inherited_contexts, &node->next, node)) {}
        }
    }
    client->context = NULL;
    for (size_t i = 0; client->peers && i < client->n_endpoints; i++) {
        rm_peer *p = &client->peers[i];
        p->socket = NULL;
        p->monitor = NULL;
        memset(&p->link, 0, sizeof p->link);
        p->suspect = 0;
        p->retry_at = 0;
    }
}

void rm_transport_disconnect(readmit_client *client) {
    for (size_t i = 0; client->peers && i < client->n_endpoints; i++) rm_peer_close(client, i);
}

/* Closes peer i's socket and, when libzmq may still hold a caller's zero-copy buffer,
 * terminates the context (after closing every socket): zmq_ctx_term returns only after every
 * pending message is released, so the caller's buffer is never touched after the call
 * returns. `held` counts the zero-copy frames not yet released. */
static void rm_reset(readmit_client *client, size_t i, atomic_int *held, int zero_copy) {
    rm_peer_close(client, i);
    if (zero_copy && atomic_load(held) != 0 && client->context) {
        rm_transport_disconnect(client);
        zmq_ctx_term(client->context);
        client->context = NULL;
    }
}

static int rm_setopt(readmit_client *client, size_t i, int option, const void *value, size_t size,
                     const char *name) {
    if (zmq_setsockopt(client->peers[i].socket, option, value, size) != 0) {
        int e = zmq_errno();
        rm_peer_close(client, i);
        return rm_fail(client, READMIT_EZMQ, "cannot set %s on the socket: %s", name, zmq_strerror(e));
    }
    return READMIT_OK;
}

/* Opens peer i's socket if it is closed (ZeroMQ connects in the background). */
static int rm_peer_open(readmit_client *client, size_t i) {
    rm_peer *p = &client->peers[i];
    if (p->socket) return READMIT_OK;
    if (!client->context) {
        client->context = zmq_ctx_new();
        if (!client->context)
            return rm_fail(client, READMIT_EZMQ, "cannot create a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
    }
    p->socket = zmq_socket(client->context, ZMQ_REQ);
    if (!p->socket)
        return rm_fail(client, READMIT_EZMQ, "cannot create a ZeroMQ REQ socket: %s", zmq_strerror(zmq_errno()));
    int linger = 0;
    int64_t max_msg = client->max_reply_bytes > (size_t)INT64_MAX ? -1 : (int64_t)client->max_reply_bytes;
    int rc = rm_setopt(client, i, ZMQ_LINGER, &linger, sizeof linger, "ZMQ_LINGER");
    if (rc == READMIT_OK) rc = rm_setopt(client, i, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg, "ZMQ_MAXMSGSIZE");
    if (rc == READMIT_OK && client->curve) {
        rc = rm_setopt(client, i, ZMQ_CURVE_SERVERKEY, client->server_public_key, 41, "ZMQ_CURVE_SERVERKEY");
        if (rc == READMIT_OK)
            rc = rm_setopt(client, i, ZMQ_CURVE_PUBLICKEY, client->client_public_key, 41, "ZMQ_CURVE_PUBLICKEY");
        if (rc == READMIT_OK)
            rc = rm_setopt(client, i, ZMQ_CURVE_SECRETKEY, client->client_secret_key, 41, "ZMQ_CURVE_SECRETKEY");
    }
    int connect_timeout = RM_CONNECT_TIMEOUT_MS;
    if (rc == READMIT_OK)
        rc = rm_setopt(client, i, ZMQ_CONNECT_TIMEOUT, &connect_timeout, sizeof connect_timeout, "ZMQ_CONNECT_TIMEOUT");
    /* libzmq connects to an IPv6 address only from a socket with ZMQ_IPV6 (tcp://[::1]:5555
     * failed as "cannot resolve the host"); set for a bracketed IPv6 host only, so that a
     * host name still resolves to IPv4 as the daemon binds it (tcp://127.0.0.1, localhost). */
    int ipv6 = rm_endpoint_is_ipv6(client->endpoints[i]);
    if (rc == READMIT_OK && ipv6) rc = rm_setopt(client, i, ZMQ_IPV6, &ipv6, sizeof ipv6, "ZMQ_IPV6");
    if (rc != READMIT_OK) return rc;
    /* The monitor is attached before connecting, so no connection event is missed. */
    char address[64];
    snprintf(address, sizeof address, "inproc://readmit-monitor-%u", client->monitor_seq++);
    if (zmq_socket_monitor(p->socket, address, RM_MONITOR_EVENTS) != 0) {
        int e = zmq_errno();
        rm_peer_close(client, i);
        return rm_fail(client, READMIT_EZMQ, "cannot monitor the socket: %s", zmq_strerror(e));
    }
    p->monitor = zmq_socket(client->context, ZMQ_PAIR);
    if (!p->monitor || zmq_setsockopt(p->monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(p->monitor, address) != 0) {
        int e = zmq_errno();
        rm_peer_close(client, i);
        return rm_fail(client, READMIT_EZMQ, "cannot connect the socket monitor: %s", zmq_strerror(e));
    }
    memset(&p->link, 0, sizeof p->link);
    p->link.since_ms = rm_now_ms();
    const char *endpoint = client->endpoints[i];
    if (zmq_connect(p->socket, endpoint) != 0) {
        int e = zmq_errno();
        rm_peer_close(client, i);
        return rm_fail(client, READMIT_EZMQ, "cannot connect to '%s': %s", endpoint, zmq_strerror(e));
    }
    return READMIT_OK;
}

int rm_transport_connect(readmit_client *client) {
    if (!client->peers) {
        client->peers = calloc(client->n_endpoints ? client->n_endpoints : 1, sizeof *client->peers);
        if (!client->peers) return rm_fail(client, READMIT_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < client->n_endpoints; i++) {
        int rc = rm_peer_open(client, i);
        if (rc != READMIT_OK) return rc;
    }
    return READMIT_OK;
}

/* Why the current attempt to connect to `endpoint` failed, from what the monitor saw. */
static void rm_link_reason(rm_link *l, const char *endpoint, int64_t now) {
    const char *why;
    if (now - l->since_ms >= RM_CONNECT_TIMEOUT_MS) {
        snprintf(l->reason, sizeof l->reason, "no answer to connect within %d ms", RM_CONNECT_TIMEOUT_MS);
        return;
    }
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        struct stat st;
        const char *path = endpoint + 6;
        if (path[0] != '@' && stat(path, &st) != 0 && errno == ENOENT) why = "no such socket file";
        else why = "connection refused";
    } else if (!l->closed) {
        why = "cannot resolve the host or open a socket"; /* failed before a socket was opened */
    } else {
        why = "connection refused";
    }
    snprintf(l->reason, sizeof l->reason, "%s%s", l->lost ? "connection lost, reconnecting: " : "", why);
}

/* One more connection of the link closed during its handshake. Three in a row are a refusal:
 * the peer will not speak ZeroMQ with this client as it is set up. */
static void rm_link_handshake_dropped(const readmit_client *client, rm_link *l) {
    if (++l->handshake_drops < RM_HANDSHAKE_DROPS_REFUSED || l->refused) return;
    l->refused = 1;
    snprintf(l->reason, sizeof l->reason, "%s",
             client->curve ? "the peer closed every CURVE handshake: the server public key is not the daemon's, the "
                             "daemon does not use CURVE, or this is not a readmitd endpoint"
                           : "the peer closed every ZeroMQ handshake: the daemon requires CURVE (give the client the "
                             "daemon's public key and a client key pair), or this is not a readmitd endpoint");
}

/* Reads the monitor events of peer i that arrived (without waiting) into its link. A failed
 * connection attempt while no connection is up marks the endpoint unavailable. */
static void rm_link_poll(readmit_client *client, size_t i) {
    rm_peer *p = &client->peers[i];
    if (!p->monitor) return;
    rm_link *l = &p->link;
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, p->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0; /* the event's value: a ZAP status, a protocol error code, an errno */
        if (zmq_msg_size(&msg) >= 2) memcpy(&event, zmq_msg_data(&msg), sizeof event); /* host order */
        if (zmq_msg_size(&msg) >= 6) memcpy(&value, (const char *)zmq_msg_data(&msg) + 2, sizeof value);
        int more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        while (more) { /* the second frame: the endpoint */
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, p->monitor, ZMQ_DONTWAIT) < 0) more = 0;
            else more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
        int64_t now = rm_now_ms();
        switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            l->refused = l->handshake_drops = 0;
            l->ready = l->handshake_said = 1;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: /* the daemon's ZAP handler said no */
            l->handshake_said = 1;
            l->refused = 1;
            if (value == 400)
                snprintf(l->reason, sizeof l->reason, "%s",
                         "the daemon refused this client's CURVE public key (ZAP status 400): it is not in the daemon's --authorized-keys");
            else
                snprintf(l->reason, sizeof l->reason, "the daemon's authentication failed (ZAP status %u)", (unsigned)value);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            l->handshake_said = 1;
            if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
                l->refused = 1;
                snprintf(l->reason, sizeof l->reason, "%s",
                         client->curve ? "this client uses CURVE and the daemon does not"
                                       : "the daemon requires CURVE: give the client the daemon's public key and a client key pair");
            } else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC || (value & 0xF0000000u) == 0x20000000u /* ZAP */) {
                l->refused = 1;
                snprintf(l->reason, sizeof l->reason, "the CURVE handshake failed (ZeroMQ protocol error 0x%x)", (unsigned)value);
            } else { /* not ZeroMQ as readmitd speaks it: nothing to wait for there */
                l->failed = 1;
                snprintf(l->reason, sizeof l->reason,
                         "the peer broke ZeroMQ's handshake (protocol error 0x%x): is this a readmitd endpoint?", (unsigned)value);
            }
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            /* Whichever side sees a mechanism mismatch first closes: the other may see only
             * this, so a mismatch event, when it comes, words the reason more precisely. */
            l->handshake_said = 1;
            rm_link_handshake_dropped(client, l);
            break;
        case ZMQ_EVENT_CONNECTED:
            l->up = 1;
            l->ready = l->handshake_said = 0;
            l->failed = l->lost = l->skip_retry = l->closed = 0;
            p->suspect = 0; /* back in rotation */
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (l->up) l->lost = 1;
            if (l->ready) l->drops++; /* not a handshake refused: that is a refusal, above */
            /* A connection closed during the handshake without a handshake event: a CURVE
             * client's greeting answered by a service that is not ZeroMQ (an HTTP server's
             * "400 Bad Request") ends so, and libzmq then ends the session for good (a protocol
             * error is not retried), so the call waited out every timeout. */
            else if (l->up && !l->handshake_said) {
                l->failed = 1;
                snprintf(l->reason, sizeof l->reason, "%s",
                         "the peer ended the connection during ZeroMQ's handshake without a ZeroMQ answer: is this a readmitd endpoint?");
            }
            l->ready = 0;
            l->up = 0;
            l->skip_retry = 1; /* libzmq announces the reconnect it schedules as a retry */
            break;
        case ZMQ_EVENT_CLOSED:
            if (!l->up) l->closed = 1;
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            if (l->skip_retry) {
                l->skip_retry = 0;
            } else if (!l->up && !l->failed && !l->refused) {
                l->failed = 1;
                rm_link_reason(l, client->endpoints[i], now);
            }
            l->since_ms = now;
            l->closed = 0;
            break;
        default:
            break;
        }
    }
}

/* Takes peer i out of rotation (its socket is closed; it is probed again after RM_PROBE_MS). */
static void rm_peer_down(readmit_client *client, size_t i) {
    rm_peer_close(client, i);
    client->peers[i].suspect = 1;
    client->peers[i].retry_at = rm_now_ms() + RM_PROBE_MS;
}

/* Brings every peer's state up to date: reads the monitors, takes out of rotation the peers
 * whose connection failed or dropped, and probes (reopens) the peers out of rotation whose
 * time has come; such a peer is back in rotation once its new connection succeeds. */
static void rm_peers_refresh(readmit_client *client) {
    int64_t now = rm_now_ms();
    for (size_t i = 0; i < client->n_endpoints; i++) {
        rm_peer *p = &client->peers[i];
        if (p->socket) {
            rm_link_poll(client, i);
            if (p->link.refused || (!p->link.up && (p->link.failed || p->link.lost))) rm_peer_down(client, i);
        }
        if (!p->socket && p->suspect && now >= p->retry_at) {
            if (rm_peer_open(client, i) != READMIT_OK) p->retry_at = now + RM_PROBE_MS;
        }
    }
}

/* 1 when peer i is in rotation now. */
static int rm_peer_in_rotation(const readmit_client *client, size_t i, int64_t now) {
    const rm_peer *p = &client->peers[i];
    return !p->suspect && now >= p->hold_until;
}

/* The next peer for a request: the next one in rotation not in `skip` (round robin), else
 * (none in rotation) the next one not in `skip`; -1 when every peer is in `skip`. */
static long rm_peer_pick(readmit_client *client, const unsigned char *skip) {
    size_t n = client->n_endpoints;
    int64_t now = rm_now_ms();
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < n; k++) {
            size_t i = (client->next_peer + k) % n;
            if (skip[i] || (pass == 0 && !rm_peer_in_rotation(client, i, now))) continue;
            client->next_peer = (i + 1) % n;
            return (long)i;
        }
    }
    return -1;
}

int rm_split_wanted(readmit_client *client, size_t n_rows) {
    if (client->split_rows == 0 || n_rows <= client->split_rows || client->n_endpoints < 2) return 0;
    rm_peers_refresh(client);
    int64_t now = rm_now_ms();
    size_t up = 0;
    for (size_t i = 0; i < client->n_endpoints; i++) up += (size_t)rm_peer_in_rotation(client, i, now);
    return up >= 2;
}

/* Between two slices of a wait on peer i: 0 to keep waiting, or RM_WAIT_REFUSED /
 * RM_WAIT_UNAVAILABLE / RM_WAIT_DROPPED / RM_WAIT_INTERRUPTED. */
static int rm_wait_check(readmit_client *client, size_t i) {
    rm_link_poll(client, i);
    if (client->peers[i].link.refused) return RM_WAIT_REFUSED;
    if (client->peers[i].link.failed && !client->peers[i].link.up) return RM_WAIT_UNAVAILABLE;
    /* A request's reply comes back on the connection it went out on, or never: libzmq drops a
     * connection whose reply frame is over ZMQ_MAXMSGSIZE (max_reply_bytes), the daemon drops
     * one whose request frame is over its --max-message-bytes, and a daemon restart drops them
     * all. Each was a wait to the timeout after every retry. */
    if (client->peers[i].awaiting && client->peers[i].link.drops != client->peers[i].drops_at_send) return RM_WAIT_DROPPED;
    if (client->interrupt && client->interrupt(client->interrupt_user) != 0) return RM_WAIT_INTERRUPTED;
    return 0;
}

void rm_reply_close(rm_reply *reply) {
    for (int i = 0; i < reply->held; i++) zmq_msg_close(&reply->frames[i]);
    reply->held = 0;
    reply->n_frames = 0;
}

int rm_reply_expect_frames(readmit_client *client, const rm_reply *reply, size_t n) {
    if (reply->n_frames != n)
        return rm_fail(client, READMIT_EPROTO, "malformed reply: %zu frames after the header, expected %zu",
                       reply->n_frames, n);
    return READMIT_OK;
}

/* Milliseconds left until the deadline (0 when passed). */
static int rm_left_ms(int64_t deadline) {
    int64_t left = deadline - rm_now_ms();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Bounds the next blocking send or receive by the time left, cut to one slice
 * (ZMQ_SNDTIMEO/ZMQ_RCVTIMEO: libzmq then waits on its own mailbox, which costs less per call
 * than a separate zmq_poll; a reply that arrives ends the wait at once). */
static void rm_set_timeout(void *socket, int option, int64_t deadline) {
    int left = rm_left_ms(deadline);
    if (left > READMIT_INTERRUPT_SLICE_MS) left = READMIT_INTERRUPT_SLICE_MS;
    if (left == 0) left = 1; /* 0 would mean "do not wait at all": still allow a ready message */
    zmq_setsockopt(socket, option, &left, sizeof left);
}

/* Sends one frame to peer i without blocking past the deadline: an RM_WAIT_* outcome
 * (RM_WAIT_DONE when sent; an error is recorded). The message is always consumed. The caller
 * set ZMQ_SNDTIMEO for the request (rm_send_request); it is set again here only after a send
 * that waited: a raw encounter is 110 frames, and a zmq_setsockopt and a clock read per frame
 * were a tenth of the client's instructions for it (benchmarks/shim/records_client_instructions.sh).
 * The deadline still holds: a frame that waits, waits at most the value set for the request
 * (one interrupt slice or less), and the loop then sets it again from the deadline. (libzmq 4.3
 * does not make a frame after a message's first wait at all: a pipe's high-water mark counts
 * whole messages.) */
static int rm_send_frame(readmit_client *client, size_t i, zmq_msg_t *msg, int more, int64_t deadline) {
    void *socket = client->peers[i].socket;
    for (;;) {
        if (zmq_msg_send(msg, socket, more ? ZMQ_SNDMORE : 0) >= 0) return RM_WAIT_DONE;
        int e = zmq_errno(), why = 0;
        if ((e == EINTR || e == EAGAIN) && (why = rm_wait_check(client, i)) == 0 && rm_left_ms(deadline) > 0) {
            rm_set_timeout(socket, ZMQ_SNDTIMEO, deadline);
            continue;
        }
        zmq_msg_close(msg);
        if (why) return why;
        if (e == EAGAIN || e == EINTR) return RM_WAIT_TIMEOUT;
        rm_fail(client, READMIT_EZMQ, "cannot send the request: %s", zmq_strerror(e));
        return RM_WAIT_ERROR;
    }
}

/* Sends the whole request to peer i: an RM_WAIT_* outcome. *zero_copy is set when libzmq was
 * handed a caller's payload without a copy (*held counts those it has not released yet). */
static int rm_send_request(readmit_client *client, size_t i, const rm_request *req, uint64_t id,
                           int64_t deadline, atomic_int *held, int *zero_copy) {
    unsigned char header[RM_REQ_HEADER_SIZE];
    rm_build_request_header(header, req->op, req->flags, id);
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, sizeof header) != 0) {
        rm_fail(client, READMIT_ENOMEM, "out of memory for the request header");
        return RM_WAIT_ERROR;
    }
    memcpy(zmq_msg_data(&msg), header, sizeof header);
    rm_set_timeout(client->peers[i].socket, ZMQ_SNDTIMEO, deadline);
    int r = rm_send_frame(client, i, &msg, req->n_parts > 0, deadline);
    for (size_t k = 0; r == RM_WAIT_DONE && k < req->n_parts; k++) {
        int more = k + 1 < req->n_parts;
        size_t size = req->sizes[k];
        if (size >= RM_ZERO_COPY_MIN_BYTES && !req->copy) {
            /* Large matrices go without a copy; rm_reset/the caller wait for the release. */
            atomic_fetch_add(held, 1);
            if (zmq_msg_init_data(&msg, (void *)req->parts[k], size, rm_release_payload, held) != 0) {
                atomic_fetch_sub(held, 1);
                rm_fail(client, READMIT_ENOMEM, "out of memory for a request frame");
                return RM_WAIT_ERROR;
            }
            *zero_copy = 1;
        } else {
            if (zmq_msg_init_size(&msg, size) != 0) {
                rm_fail(client, READMIT_ENOMEM, "out of memory for a request frame of %zu bytes", size);
                return RM_WAIT_ERROR;
            }
            if (size > 0) memcpy(zmq_msg_data(&msg), req->parts[k], size);
        }
        r = rm_send_frame(client, i, &msg, more, deadline);
    }
    return r;
}

/* Waits until the deadline for the first frame of peer i's reply, into reply->frames[0]: an
 * RM_WAIT_* outcome (RM_WAIT_DONE when received; an error is recorded). */
static int rm_receive_first(readmit_client *client, size_t i, int64_t deadline, rm_reply *reply) {
    void *socket = client->peers[i].socket;
    zmq_msg_init(&reply->frames[0]);
    reply->held = 1;
    for (;;) {
        rm_set_timeout(socket, ZMQ_RCVTIMEO, deadline);
        if (zmq_msg_recv(&reply->frames[0], socket, 0) >= 0) return RM_WAIT_DONE;
        int e = zmq_errno(), why = 0;
        if ((e == EINTR || e == EAGAIN) && (why = rm_wait_check(client, i)) == 0 && rm_left_ms(deadline) > 0) continue;
        rm_reply_close(reply);
        if (why) return why;
        if (e == EAGAIN || e == EINTR) return RM_WAIT_TIMEOUT;
        rm_fail(client, READMIT_EZMQ, "cannot receive the reply: %s", zmq_strerror(e));
        return RM_WAIT_ERROR;
    }
}

/* Receives the remaining parts of peer i's reply whose first frame has arrived (a multipart
 * message arrives whole) and validates its header. Returns READMIT_OK, a client error, or the
 * daemon's status code. */
static int rm_receive_reply(readmit_client *client, size_t i, uint8_t op, uint64_t id, rm_reply *reply) {
    size_t n = 1, total = zmq_msg_size(&reply->frames[0]);
    int more = zmq_msg_more(&reply->frames[0]), rc = READMIT_OK;
    while (more) {
        zmq_msg_t extra;
        zmq_msg_t *m = n < RM_MAX_FRAMES ? &reply->frames[n] : &extra;
        zmq_msg_init(m);
        if (n < RM_MAX_FRAMES) reply->held = (int)n + 1;
        if (zmq_msg_recv(m, client->peers[i].socket, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            if (m == &extra) zmq_msg_close(m);
            rm_peer_close(client, i); /* the REQ state is unknown now: start afresh */
            rm_reply_close(reply);
            return rm_fail(client, READMIT_EPROTO, "cannot receive the reply: %s", zmq_strerror(e));
        }
        total += zmq_msg_size(m);
        more = zmq_msg_more(m);
        if (m == &extra) zmq_msg_close(m);
        n++;
    }
    if (total > client->max_reply_bytes)
        rc = rm_fail(client, READMIT_ETOOBIG, "reply of %zu bytes is over the limit of %zu bytes", total,
                     client->max_reply_bytes);
    else if (n > RM_MAX_FRAMES)
        rc = rm_fail(client, READMIT_EPROTO, "malformed reply: %zu frames", n);
    if (rc != READMIT_OK) {
        rm_reply_close(reply);
        return rc;
    }
    reply->n_frames = n - 1;
    return rm_reply_validate(client, op, id, reply);
}

int rm_reply_validate(readmit_client *client, uint8_t op, uint64_t id, rm_reply *reply) {
    int rc = READMIT_OK;
    const unsigned char *h = zmq_msg_data(&reply->frames[0]);
    if (zmq_msg_size(&reply->frames[0]) != RM_REP_HEADER_SIZE)
        rc = rm_fail(client, READMIT_EPROTO, "malformed reply: header of %zu bytes, expected %d",
                     zmq_msg_size(&reply->frames[0]), RM_REP_HEADER_SIZE);
    else if (memcmp(h, "RDMT", 4) != 0)
        rc = rm_fail(client, READMIT_EPROTO, "malformed reply: bad magic");
    else if (h[4] != READMIT_PROTOCOL_VERSION)
        rc = rm_fail(client, READMIT_EPROTO, "malformed reply: protocol version %u, expected %d", h[4],
                     READMIT_PROTOCOL_VERSION);
    if (rc != READMIT_OK) {
        rm_reply_close(reply);
        return rc;
    }
    reply->op = h[5];
    reply->status = rm_get_u16(h + 6);
    reply->request_id = rm_get_u64(h + 8);
    reply->model_version = rm_get_u64(h + 16);
    /* op 0 / id 0 is the daemon saying it could not read our header at all (an error). */
    int unread = reply->op == 0 && reply->request_id == 0 && reply->status != 0;
    if (!unread && reply->op != op)
        rc = rm_fail(client, READMIT_EPROTO, "malformed reply: op %u to a request of op %u", reply->op, op);
    else if (!unread && reply->request_id != id)
        rc = rm_fail(client, READMIT_EPROTO, "malformed reply: request id %llu, expected %llu",
                     (unsigned long long)reply->request_id, (unsigned long long)id);
    if (rc != READMIT_OK) {
        rm_reply_close(reply);
        return rc;
    }
    client->last_model_version = reply->model_version;
    if (reply->status == 0) return READMIT_OK;

    /* Error reply: frame 1 is i32 row, i32 feature; frame 2 the message. */
    if (reply->n_frames != 2 || zmq_msg_size(&reply->frames[1]) != 8) {
        rc = rm_fail(client, READMIT_EPROTO, "malformed error reply (status %u): %zu frames", reply->status,
                     reply->n_frames);
        rm_reply_close(reply);
        return rc;
    }
    const unsigned char *loc = zmq_msg_data(&reply->frames[1]);
    size_t len = zmq_msg_size(&reply->frames[2]);
    if (len > sizeof client->errmsg - 1) len = sizeof client->errmsg - 1;
    int code = reply->status <= RM_STATUS_MAX_KNOWN ? (int)reply->status : READMIT_ESTATUS;
    client->errcode = code;
    client->error_row = rm_get_i32(loc);
    client->error_feature = rm_get_i32(loc + 4);
    if (code == READMIT_ESTATUS) {
        snprintf(client->errmsg, sizeof client->errmsg, "daemon status %u: %.*s", reply->status, (int)len,
                 (const char *)zmq_msg_data(&reply->frames[2]));
    } else {
        memcpy(client->errmsg, zmq_msg_data(&reply->frames[2]), len);
        client->errmsg[len] = '\0';
    }
    rm_reply_close(reply);
    return code;
}

/* Appends "endpoint (reason)" to the list of unavailable endpoints of this call. */
static void rm_note_unavailable(char *list, size_t size, const char *endpoint, const char *reason) {
    size_t used = strlen(list);
    if (used + 1 < size)
        snprintf(list + used, size - used, "%s%s (%s)", used ? "; " : "", endpoint, reason);
}

/* Daemon statuses after which another daemon may well answer: no model (yet), queue full. */
static int rm_status_elsewhere(int rc) { return rc == READMIT_ENOTREADY || rc == READMIT_EOVERLOADED; }

/* The bytes of a request's frames after the header. */
static size_t rm_request_bytes(const rm_request *req) {
    size_t total = 0;
    for (size_t k = 0; k < req->n_parts; k++) total += req->sizes[k];
    return total;
}

/* Holds peer i out of rotation after a timeout there (only worth it with another peer). */
static void rm_peer_hold(readmit_client *client, size_t i) {
    if (client->n_endpoints < 2) return;
    int hold = client->timeout_ms > RM_HOLD_MIN_MS ? client->timeout_ms : RM_HOLD_MIN_MS;
    client->peers[i].hold_until = rm_now_ms() + hold;
}

int rm_transport_call(readmit_client *client, const rm_request *req, rm_reply *reply) {
    rm_reply_init(reply);
    rm_transport_adopt(client);
    uint64_t id = client->next_request_id++;
    int attempts = client->retries + 1, used = 0;
    int64_t start = rm_now_ms();
    /* Unavailable endpoints are skipped without using an attempt; this bounds the whole call
     * by (retries + 1) * timeout_ms all the same. */
    int64_t call_deadline = start + (int64_t)attempts * client->timeout_ms;
    if (client->deadline_cap > 0 && client->deadline_cap < call_deadline) call_deadline = client->deadline_cap;
    client->deadline_cap = 0;
    size_t n = client->n_endpoints;
    unsigned char *skip = calloc(n, 1); /* endpoints not to try again in this call (for now) */
    if (!skip) return rm_fail(client, READMIT_ENOMEM, "out of memory");
    size_t unavailable = 0; /* endpoints found unavailable (or refusing this client) in a row */
    size_t refused = 0;     /* of those, the ones whose security handshake failed */
    int status = READMIT_OK; /* a "try elsewhere" daemon status met in this call */
    char unavailable_list[sizeof client->errmsg - 64];
    unavailable_list[0] = '\0'; /* not `= ""`, which clears every byte on every call */
    int rc = READMIT_OK;
    int picks = 0;          /* endpoints picked so far in this call */
    int dropped = 0;        /* attempts whose connection dropped while the request was out */
    size_t dropped_at = 0;  /* the endpoint of the last of those */
    rm_peers_refresh(client);
    while (used < attempts) {
        long pick = rm_peer_pick(client, skip);
        if (pick < 0) { /* every endpoint said "not ready" or "overloaded", or was unavailable */
            rc = status;
            goto done;
        }
        size_t i = (size_t)pick;
        client->current = i;
        rm_peer *p = &client->peers[i];
        int reused = p->socket != NULL; /* a fresh socket's link has seen nothing yet */
        rc = rm_peer_open(client, i);
        if (rc != READMIT_OK) goto done;
        int64_t deadline = rm_now_ms() + client->timeout_ms;
        if (deadline > call_deadline) deadline = call_deadline;
        atomic_int held;
        atomic_init(&held, 0);
        int zero_copy = 0;
        /* Drops until now are not this request's. rm_peers_refresh read the link at the call's
         * start, so only a socket kept from before a later attempt needs reading again (a read
         * on every attempt cost about 375 of a raw encounter's 115,000 client instructions:
         * benchmarks/shim/records_client_instructions.sh). */
        if (reused && picks > 0) rm_link_poll(client, i);
        picks++;
        p->drops_at_send = p->link.drops;
        p->awaiting = 1;
        int outcome = rm_send_request(client, i, req, id, deadline, &held, &zero_copy);
        if (outcome == RM_WAIT_DONE) outcome = rm_receive_first(client, i, deadline, reply);
        p->awaiting = 0;
        if (outcome == RM_WAIT_ERROR) {
            rm_reset(client, i, &held, zero_copy);
            rc = client->errcode;
            goto done;
        }
        if (outcome == RM_WAIT_DONE) {
            p->lost_request = 0;
            rc = rm_receive_reply(client, i, req->op, id, reply);
            if (zero_copy) {
                /* The daemon answered, so it read the whole payload; libzmq releases it right
                 * after writing it. Wait briefly for that, else reset (which waits for sure). */
                for (int k = 0; k < 2000 && atomic_load(&held) != 0; k++) rm_sleep_us(50);
                if (atomic_load(&held) != 0) rm_reset(client, i, &held, zero_copy);
            }
            p->requests++;
            if (rc == READMIT_OK) rm_ok(client);
            if (rm_status_elsewhere(rc) && n > 1 && rm_left_ms(call_deadline) > 0) {
                /* Another daemon may take it (a rolling restart, a full queue): a new id, so a
                 * late reply of this one is never mistaken for it. */
                status = rc;
                skip[i] = 1;
                id = client->next_request_id++;
                continue;
            }
            goto done;
        }
        const char *endpoint = client->endpoints[i];
        if (outcome == RM_WAIT_INTERRUPTED) {
            /* The REQ socket still expects the abandoned reply: replace it, as after a timeout. */
            rm_reset(client, i, &held, zero_copy);
            rc = rm_fail(client, READMIT_EINTERRUPTED, "interrupted after %lld ms waiting for %s",
                         (long long)(rm_now_ms() - start), endpoint);
            goto done;
        }
        p->failures++;
        if (outcome == RM_WAIT_UNAVAILABLE || outcome == RM_WAIT_REFUSED) {
            /* A refusal is the endpoint's answer to this client: another daemon may take it. */
            char reason[sizeof p->link.reason + 40];
            snprintf(reason, sizeof reason, "%s%s", p->lost_request && !strstr(p->link.reason, "connection lost") ?
                     "connection lost, reconnecting: " : "", p->link.reason);
            p->lost_request = 0;
            rm_note_unavailable(unavailable_list, sizeof unavailable_list, endpoint, reason);
            if (outcome == RM_WAIT_REFUSED) refused++;
            rm_reset(client, i, &held, zero_copy);
            rm_peer_down(client, i);
            skip[i] = 1;
            if (++unavailable >= n) {
                if (refused == n && n == 1) rc = rm_fail(client, READMIT_EAUTH, "refused by %s", unavailable_list);
                else if (refused == n) rc = rm_fail(client, READMIT_EAUTH, "refused by all %zu endpoints: %s", n, unavailable_list);
                else if (refused > 0) rc = rm_fail(client, READMIT_EAUTH, "no daemon at %zu of %zu endpoints, refused by the others: %s",
                                                   n - refused, n, unavailable_list);
                else if (n == 1) rc = rm_fail(client, READMIT_EUNAVAILABLE, "no daemon at %s", unavailable_list);
                else rc = rm_fail(client, READMIT_EUNAVAILABLE, "no daemon at any of %zu endpoints: %s", n,
                                  unavailable_list);
                goto done;
            }
            if (rm_left_ms(call_deadline) == 0) break;
            continue;
        }
        /* Timed out, or the connection dropped under the request: the REQ socket cannot send
         * again before a reply, so drop it (Lazy Pirate) and fail over to another endpoint (a
         * drop at once, with no hold: the daemon may well be back). */
        rm_reset(client, i, &held, zero_copy);
        if (outcome == RM_WAIT_DROPPED) {
            dropped++;
            dropped_at = i;
            p->lost_request = 1;
        } else {
            rm_peer_hold(client, i);
        }
        used++;
        unavailable = refused = 0;
        unavailable_list[0] = '\0';
        memset(skip, 0, n);
        if (rm_left_ms(call_deadline) == 0) break;
    }
    if (dropped > 0 && dropped == used) {
        /* The same request lost its connection on every attempt: its size, most likely. */
        char attempts_text[40];
        if (used == 1) snprintf(attempts_text, sizeof attempts_text, "its one attempt");
        else snprintf(attempts_text, sizeof attempts_text, "each of %d attempts", used);
        rc = rm_fail(client, READMIT_ETOOBIG,
                     "the connection to %s dropped while the request was out, on %s: ZeroMQ drops a connection "
                     "whose reply frame is over this client's max_reply_bytes (%zu) or whose request frame is over the "
                     "daemon's --max-message-bytes (this request: %zu bytes in all); otherwise the daemon restarted each time",
                     client->endpoints[dropped_at], attempts_text, client->max_reply_bytes, rm_request_bytes(req));
    } else if (n == 1)
        rc = rm_fail(client, READMIT_ETIMEDOUT, "no reply from %s within %d ms (%d attempt%s)", client->endpoints[0],
                     client->timeout_ms, used, used == 1 ? "" : "s");
    else
        rc = rm_fail(client, READMIT_ETIMEDOUT, "no reply from any of %zu endpoints within %d ms (%d attempts)", n,
                     client->timeout_ms, used);
done:
    free(skip);
    return rc;
}

/* ---- split batches ---- */

typedef struct {
    long chunk;       /* the chunk in flight on this peer, or -1 */
    uint64_t id;      /* its request id */
    int64_t deadline; /* when it times out */
} rm_flight;

enum { RM_CHUNK_PENDING = 0, RM_CHUNK_SENT = 1, RM_CHUNK_DONE = 2 };

/* Puts peer i's chunk back in the queue after a failure there (`why`: an RM_WAIT_* outcome). */
static void rm_flight_fail(readmit_client *client, size_t i, rm_flight *fl, unsigned char *state, int why) {
    state[fl[i].chunk] = RM_CHUNK_PENDING;
    fl[i].chunk = -1;
    client->peers[i].failures++;
    if (why == RM_WAIT_UNAVAILABLE || why == RM_WAIT_REFUSED) {
        rm_peer_down(client, i);
    } else {
        rm_peer_close(client, i);
        if (why != RM_WAIT_DROPPED) rm_peer_hold(client, i);
    }
}

int rm_transport_split(readmit_client *client, uint8_t op, const rm_split_job *job) {
    rm_transport_adopt(client);
    size_t n = client->n_endpoints, nc = job->n_chunks, done = 0;
    int64_t call_deadline = rm_now_ms() + (int64_t)(client->retries + 1) * client->timeout_ms;
    rm_flight *fl = malloc(n * sizeof *fl);
    zmq_pollitem_t *items = malloc(n * sizeof *items);
    size_t *item_peer = malloc(n * sizeof *item_peer);
    unsigned char *state = calloc(nc ? nc : 1, 1);
    unsigned char *drops = calloc(nc ? nc : 1, 1); /* connection drops under each chunk */
    int result = READMIT_OK;
    uint64_t version = 0;
    int have_version = 0;
    if (!fl || !items || !item_peer || !state || !drops) {
        result = rm_fail(client, READMIT_ENOMEM, "out of memory splitting a batch into %zu chunks", nc);
        goto out;
    }
    for (size_t i = 0; i < n; i++) fl[i].chunk = -1;
    size_t first_pending = 0;
    while (done < nc) {
        int64_t now = rm_now_ms();
        if (now >= call_deadline) {
            result = RM_SPLIT_WHOLE;
            goto out;
        }
        rm_peers_refresh(client);
        size_t in_rotation = 0;
        for (size_t i = 0; i < n; i++) {
            if (fl[i].chunk >= 0 && !client->peers[i].socket) rm_flight_fail(client, i, fl, state, RM_WAIT_UNAVAILABLE);
            in_rotation += (size_t)rm_peer_in_rotation(client, i, now);
        }
        /* Every idle peer in rotation gets the first pending chunk. */
        for (size_t i = 0; i < n; i++) {
            if (fl[i].chunk >= 0 || !rm_peer_in_rotation(client, i, now)) continue;
            while (first_pending < nc && state[first_pending] != RM_CHUNK_PENDING) first_pending++;
            size_t c = first_pending;
            for (size_t k = 0; k < first_pending; k++)
                if (state[k] == RM_CHUNK_PENDING) { c = k; break; }
            if (c >= nc) break;
            if (rm_peer_open(client, i) != READMIT_OK) {
                rm_peer_down(client, i);
                continue;
            }
            rm_request req;
            void *owned = NULL;
            int rc = job->build(client, job->ctx, c, &req, &owned);
            if (rc != READMIT_OK) {
                result = rc;
                goto out;
            }
            uint64_t id = client->next_request_id++;
            int64_t deadline = now + client->timeout_ms;
            if (deadline > call_deadline) deadline = call_deadline;
            atomic_int held;
            atomic_init(&held, 0);
            int zero_copy = 0; /* stays 0: build() sets req.copy */
            rm_link_poll(client, i); /* drops until now are not this chunk's */
            client->peers[i].drops_at_send = client->peers[i].link.drops;
            client->peers[i].awaiting = 1;
            int w = rm_send_request(client, i, &req, id, deadline, &held, &zero_copy);
            if (job->release) job->release(owned);
            fl[i].chunk = (long)c;
            fl[i].id = id;
            fl[i].deadline = deadline;
            state[c] = RM_CHUNK_SENT;
            if (w == RM_WAIT_DONE) continue;
            if (w == RM_WAIT_INTERRUPTED) {
                result = rm_fail(client, READMIT_EINTERRUPTED, "interrupted waiting for %s", client->endpoints[i]);
                goto out;
            }
            if (w == RM_WAIT_ERROR) {
                result = client->errcode == READMIT_ENOMEM ? READMIT_ENOMEM : RM_SPLIT_WHOLE;
                goto out;
            }
            rm_flight_fail(client, i, fl, state, w);
        }
        size_t m = 0;
        int64_t wake = now + READMIT_INTERRUPT_SLICE_MS;
        for (size_t i = 0; i < n; i++) {
            if (fl[i].chunk < 0) continue;
            items[m].socket = client->peers[i].socket;
            items[m].fd = 0;
            items[m].events = ZMQ_POLLIN;
            items[m].revents = 0;
            item_peer[m++] = i;
            if (fl[i].deadline < wake) wake = fl[i].deadline;
        }
        if (m == 0) {
            if (in_rotation == 0) { /* nothing to send the chunks to: the whole batch goes its usual way */
                result = RM_SPLIT_WHOLE;
                goto out;
            }
            continue;
        }
        long wait = (long)(wake - rm_now_ms());
        if (wait < 1) wait = 1;
        int polled = zmq_poll(items, (int)m, wait);
        if (polled < 0 && zmq_errno() != EINTR) {
            result = RM_SPLIT_WHOLE;
            goto out;
        }
        for (size_t k = 0; k < m; k++) {
            size_t i = item_peer[k];
            if (polled > 0 && (items[k].revents & ZMQ_POLLIN)) {
                rm_reply reply;
                rm_reply_init(&reply);
                zmq_msg_init(&reply.frames[0]);
                reply.held = 1;
                if (zmq_msg_recv(&reply.frames[0], client->peers[i].socket, ZMQ_DONTWAIT) < 0) {
                    rm_reply_close(&reply);
                    continue;
                }
                size_t c = (size_t)fl[i].chunk;
                client->peers[i].awaiting = 0;
                int rc = rm_receive_reply(client, i, op, fl[i].id, &reply);
                fl[i].chunk = -1;
                client->peers[i].requests++;
                if (rm_status_elsewhere(rc)) { /* another daemon may take the chunk */
                    state[c] = RM_CHUNK_PENDING;
                    rm_peer_hold(client, i);
                    continue;
                }
                if (rc == READMIT_OK && have_version && reply.model_version != version) {
                    rm_reply_close(&reply);
                    rc = RM_SPLIT_WHOLE; /* a reload under way: one model must score the batch */
                }
                if (rc == READMIT_OK) {
                    version = reply.model_version;
                    have_version = 1;
                    rc = job->take(client, job->ctx, c, &reply);
                    rm_reply_close(&reply);
                }
                if (rc != READMIT_OK) {
                    result = rc == READMIT_ENOMEM ? READMIT_ENOMEM : RM_SPLIT_WHOLE;
                    goto out;
                }
                state[c] = RM_CHUNK_DONE;
                done++;
                continue;
            }
            int why = rm_wait_check(client, i);
            if (why == RM_WAIT_INTERRUPTED) {
                result = rm_fail(client, READMIT_EINTERRUPTED, "interrupted waiting for %s", client->endpoints[i]);
                goto out;
            }
            if (why == RM_WAIT_DROPPED && ++drops[fl[i].chunk] >= 2) {
                /* A chunk that lost its connection twice is most likely too large for a frame
                 * limit: resending it would only repeat that. The whole call's path reports it. */
                result = RM_SPLIT_WHOLE;
                goto out;
            }
            if (why == RM_WAIT_UNAVAILABLE || why == RM_WAIT_REFUSED || why == RM_WAIT_DROPPED)
                rm_flight_fail(client, i, fl, state, why);
            else if (rm_now_ms() >= fl[i].deadline) rm_flight_fail(client, i, fl, state, RM_WAIT_TIMEOUT);
        }
    }
out:
    /* A REQ socket with a request in flight cannot send again: replace it. */
    for (size_t i = 0; fl && i < n; i++)
        if (fl[i].chunk >= 0) rm_peer_close(client, i);
    free(fl);
    free(items);
    free(item_peer);
    free(state);
    free(drops);
    if (result == RM_SPLIT_WHOLE) client->deadline_cap = call_deadline;
    else client->deadline_cap = 0;
    if (result == READMIT_OK) rm_ok(client);
    return result;
}
