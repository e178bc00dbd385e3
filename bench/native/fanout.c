/* Native C baseline for bench/loadtest_city.py: the same fan-out as `alertsim loadtest`, over
 * libmosquitto, so the Python swarm has a fair yardstick on the same broker in the same run.
 *
 *   fanout sub HOST PORT TOPICS_FILE QOS EXPECTED LATENCIES_OUT
 *       TOPICS_FILE lines are "<connection>\t<topic>"; one MQTT 5 connection per distinct
 *       connection, each subscribed to its topics. Prints "ready" once every SUBACK is in, then
 *       counts deliveries until EXPECTED arrived or 5 s pass without one; writes each latency
 *       (receive wall time - the stamp's scheduled time, int64 ns) to LATENCIES_OUT and prints
 *       "received <n> first_ns <t> last_ns <t>".
 *   fanout pub HOST PORT TOPICS_FILE QOS PAYLOAD_FILE
 *       One connection publishes the payload once to every topic (one a line), each carrying the
 *       same User Property stamp as alertsim's publisher ("alertsim-scheduled": "<ns> <seq>"),
 *       all scheduled at start; prints "published <n> start_ns <t> end_ns <t>".
 *
 * External event loop (poll + mosquitto_loop_read/write) so one process holds many connections.
 */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define STAMP_KEY "alertsim-scheduled"

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "fanout: %s: %s\n", what, mosquitto_strerror(rc));
    exit(1);
}

struct conn {
    struct mosquitto *mosq;
    char **topics;
    int ntopics;
    int subacked;
};

static int qos;
static int64_t received, first_ns, last_ns;
static int64_t *latencies;
static int64_t capacity;
static int subacked_total;
static int acked;
static int connected;

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *p) {
    (void)flags; (void)p;
    struct conn *c = obj;
    if (rc) { fprintf(stderr, "fanout: CONNACK refused: %d\n", rc); exit(1); }
    connected++;
    if (c && c->ntopics) {
        for (int start = 0; start < c->ntopics; start += 500) {
            int n = c->ntopics - start < 500 ? c->ntopics - start : 500;
            int err = mosquitto_subscribe_multiple(m, NULL, n, c->topics + start, qos, 0, NULL);
            if (err) die("subscribe", err);
        }
    }
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted,
                         const mosquitto_property *p) {
    (void)m; (void)mid; (void)p;
    struct conn *c = obj;
    for (int i = 0; i < n; i++) if (granted[i] >= 128) { fprintf(stderr, "fanout: SUBACK refused\n"); exit(1); }
    c->subacked += n;
    if (c->subacked == c->ntopics) subacked_total++;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props) {
    (void)m; (void)obj; (void)msg;
    int64_t t = now_ns();
    char *name = NULL, *value = NULL;
    const mosquitto_property *found = mosquitto_property_read_string_pair(
        props, MQTT_PROP_USER_PROPERTY, &name, &value, false);
    if (found && name && strcmp(name, STAMP_KEY) == 0 && value) {
        int64_t scheduled = strtoll(value, NULL, 10);
        if (received < capacity) latencies[received] = t - scheduled;
        if (!received) first_ns = t;
        received++;
        last_ns = t;
    }
    free(name);
    free(value);
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
                       const mosquitto_property *p) {
    (void)m; (void)obj; (void)mid; (void)reason; (void)p;
    acked++;
}

/* One pass of the external loop over every connection; returns how many fds were ready. */
static int pump(struct conn *conns, int n, struct pollfd *fds, int timeout_ms) {
    for (int i = 0; i < n; i++) {
        fds[i].fd = mosquitto_socket(conns[i].mosq);
        fds[i].events = POLLIN | (mosquitto_want_write(conns[i].mosq) ? POLLOUT : 0);
        fds[i].revents = 0;
    }
    int ready = poll(fds, n, timeout_ms);
    if (ready < 0 && errno != EINTR) { perror("poll"); exit(1); }
    for (int i = 0; i < n && ready > 0; i++) {
        if (fds[i].revents & POLLIN) {
            int pending = 0;
            do {  /* libmosquitto reads one packet a call: drain what the socket holds */
                int rc = mosquitto_loop_read(conns[i].mosq, 1);
                if (rc) die("read", rc);
                if (ioctl(fds[i].fd, FIONREAD, &pending) < 0) pending = 0;
            } while (pending > 0);
        }
        if (fds[i].revents & POLLOUT) {
            int rc = mosquitto_loop_write(conns[i].mosq, 1);
            if (rc) die("write", rc);
        }
        if (fds[i].revents & (POLLERR | POLLHUP)) { fprintf(stderr, "fanout: connection lost\n"); exit(1); }
    }
    return ready;
}

static struct mosquitto *client(const char *id, void *obj, const char *host, int port) {
    struct mosquitto *m = mosquitto_new(id, true, obj);
    if (!m) { fprintf(stderr, "fanout: mosquitto_new failed\n"); exit(1); }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m, 0);
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, on_message);
    mosquitto_publish_v5_callback_set(m, on_publish);
    int rc = mosquitto_connect_bind_v5(m, host, port, 60, NULL, NULL);
    if (rc) die("connect", rc);
    return m;
}

static char *slurp(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(*size + 1);
    if (fread(text, 1, *size, f) != (size_t)*size) { perror(path); exit(1); }
    text[*size] = 0;
    fclose(f);
    return text;
}

static int run_sub(const char *host, int port, const char *topics_path, int64_t expected,
                   const char *out_path) {
    long size;
    char *text = slurp(topics_path, &size);
    int nconns = 0, cap = 1024;
    struct conn *conns = calloc(cap, sizeof *conns);
    long last_conn = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        long index = strtol(line, NULL, 10);
        if (index != last_conn) {
            if (nconns == cap) { cap *= 2; conns = realloc(conns, cap * sizeof *conns); memset(conns + nconns, 0, (cap - nconns) * sizeof *conns); }
            nconns++;
            last_conn = index;
        }
        struct conn *c = &conns[nconns - 1];
        if ((c->ntopics & (c->ntopics - 1)) == 0) c->topics = realloc(c->topics, (c->ntopics ? c->ntopics * 2 : 1) * sizeof(char *));
        c->topics[c->ntopics++] = tab + 1;
    }
    capacity = expected;
    latencies = malloc(sizeof(int64_t) * (expected > 0 ? expected : 1));
    struct pollfd *fds = calloc(nconns, sizeof *fds);
    for (int i = 0; i < nconns; i++) {
        char id[64];
        snprintf(id, sizeof id, "native-%d-%ld", (int)getpid(), (long)i);
        conns[i].mosq = client(id, &conns[i], host, port);
        if (i % 64 == 63) pump(conns, i + 1, fds, 0);
    }
    int64_t deadline = now_ns() + 60LL * 1000000000LL;
    while (subacked_total < nconns) {
        pump(conns, nconns, fds, 100);
        if (now_ns() > deadline) { fprintf(stderr, "fanout: subscribe timed out\n"); return 1; }
    }
    printf("ready\n");
    fflush(stdout);
    int64_t idle_since = now_ns();
    int64_t seen = 0;
    while (received < expected) {
        pump(conns, nconns, fds, 100);
        if (received != seen) { seen = received; idle_since = now_ns(); }
        else if (now_ns() - idle_since > 5LL * 1000000000LL && (received || now_ns() > deadline + 60LL * 1000000000LL)) break;
    }
    FILE *out = fopen(out_path, "wb");
    fwrite(latencies, sizeof(int64_t), received < capacity ? received : capacity, out);
    fclose(out);
    printf("received %lld first_ns %lld last_ns %lld\n", (long long)received, (long long)first_ns,
           (long long)last_ns);
    for (int i = 0; i < nconns; i++) mosquitto_disconnect(conns[i].mosq);
    return 0;
}

static int run_pub(const char *host, int port, const char *topics_path, const char *payload_path) {
    long size, payload_size;
    char *text = slurp(topics_path, &size);
    char *payload = slurp(payload_path, &payload_size);
    int n = 0, cap = 1024;
    char **topics = malloc(cap * sizeof(char *));
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (n == cap) { cap *= 2; topics = realloc(topics, cap * sizeof(char *)); }
        topics[n++] = line;
    }
    struct conn c = {0};
    c.mosq = client("native-pub", &c, host, port);
    struct pollfd fd;
    while (!connected) pump(&c, 1, &fd, 100);
    int64_t start = now_ns() + 20000000LL;
    while (now_ns() < start) { }
    char stamp[64];
    for (int i = 0; i < n; i++) {
        mosquitto_property *props = NULL;
        snprintf(stamp, sizeof stamp, "%019lld %010d", (long long)start, i);
        mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, STAMP_KEY, stamp);
        int rc = mosquitto_publish_v5(c.mosq, NULL, topics[i], payload_size, payload, qos, false, props);
        if (rc) die("publish", rc);
        mosquitto_property_free_all(&props);
        if (i % 256 == 255 || mosquitto_want_write(c.mosq)) pump(&c, 1, &fd, 0);
    }
    while (mosquitto_want_write(c.mosq) || (qos && acked < n)) pump(&c, 1, &fd, 100);
    int64_t end = now_ns();
    printf("published %d start_ns %lld end_ns %lld\n", n, (long long)start, (long long)end);
    mosquitto_disconnect(c.mosq);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: fanout sub HOST PORT TOPICS QOS EXPECTED OUT | pub HOST PORT TOPICS QOS PAYLOAD\n");
        return 2;
    }
    mosquitto_lib_init();
    qos = atoi(argv[5]);
    if (strcmp(argv[1], "sub") == 0 && argc == 8)
        return run_sub(argv[2], atoi(argv[3]), argv[4], atoll(argv[6]), argv[7]);
    if (strcmp(argv[1], "pub") == 0 && argc == 7)
        return run_pub(argv[2], atoi(argv[3]), argv[4], argv[6]);
    fprintf(stderr, "fanout: expected 'sub' with 6 arguments or 'pub' with 5\n");
    return 2;
}
