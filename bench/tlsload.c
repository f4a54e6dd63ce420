/* tlsload: closed-loop TLS echo load generator (the TLS twin of echoload).
 * Opens CONNS TLS connections to HOST:PORT (handshakes done before timing;
 * the certificate is not verified: loopback benchmark only), then each sends
 * MSGSIZE bytes, waits for the whole echo, and sends again, for SECONDS.
 * Prints the same lines as echoload.  Single-threaded, epoll, OpenSSL.
 * usage: tlsload HOST PORT CONNS MSGSIZE SECONDS
 * build: cc -O2 -o tlsload tlsload.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { int fd; SSL *ssl; size_t got; double t0; int dead; } conn_t;

static double now(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Write the whole message; the socket is non-blocking, so wait on poll() when
 * OpenSSL asks.  At most one message is in flight per connection, so this
 * never waits on the peer's reading. */
static int write_all(conn_t *c, const char *buf, size_t n) {
    for (;;) {
        int r = SSL_write(c->ssl, buf, (int)n);
        if (r > 0) return 0;
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) return -1;
        struct pollfd p = {.fd = c->fd, .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
        poll(&p, 1, 100);
    }
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: tlsload HOST PORT CONNS MSGSIZE SECONDS\n"); return 2; }
    const char *host = argv[1]; int port = atoi(argv[2]), n = atoi(argv[3]);
    size_t msz = (size_t)atol(argv[4]); double secs = atof(argv[5]);
    char *out = malloc(msz), *in = malloc(1 << 16);
    memset(out, 'x', msz);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    conn_t *c = calloc(n, sizeof *c);
    int ep = epoll_create1(0);
    size_t lcap = 1 << 22, ln = 0; double *lat = malloc(lcap * sizeof *lat);
    struct sockaddr_in sa = {0}; sa.sin_family = AF_INET; sa.sin_port = htons(port);
    inet_pton(AF_INET, host, &sa.sin_addr);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
        c[i].fd = fd; c[i].ssl = SSL_new(ctx);
        SSL_set_fd(c[i].ssl, fd);
        if (SSL_connect(c[i].ssl) != 1) { ERR_print_errors_fp(stderr); return 1; }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    double start = now(), end = start + secs; long trips = 0, errors = 0;
    for (int i = 0; i < n; i++) { c[i].t0 = now(); if (write_all(&c[i], out, msz)) errors++; }
    struct epoll_event evs[256];
    while (now() < end) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int j = 0; j < k; j++) {
            conn_t *x = &c[evs[j].data.u32];
            if (x->dead) continue;
            for (;;) {  /* drain the socket and OpenSSL's own buffer */
                int r = SSL_read(x->ssl, in, 1 << 16);
                if (r > 0) { x->got += r; continue; }
                int e = SSL_get_error(x->ssl, r);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                    errors++; x->dead = 1; epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
                }
                break;
            }
            if (!x->dead && x->got >= msz) {
                double t = now();
                if (ln < lcap) lat[ln++] = t - x->t0;
                trips++; x->got -= msz; x->t0 = t;
                if (write_all(x, out, msz)) { errors++; x->dead = 1; }
            }
        }
    }
    double el = now() - start;
    qsort(lat, ln, sizeof *lat, cmpd);
    double p50 = ln ? lat[ln / 2] : 0, p99 = ln ? lat[(size_t)(ln * 0.99)] : 0;
    printf("conns=%d msgsize=%zu seconds=%.1f trips=%ld errors=%ld\n", n, msz, el, trips, errors);
    printf("rps=%.0f MBps=%.1f p50_ms=%.3f p99_ms=%.3f\n", trips / el, trips * (double)msz / el / 1e6, p50 * 1e3, p99 * 1e3);
    return errors ? 1 : 0;
}
