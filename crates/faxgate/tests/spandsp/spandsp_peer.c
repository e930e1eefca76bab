/*
 * spandsp_peer: a T.38 fax terminal built on SpanDSP, the reference fax engine, for
 * faxgate's interop tests. It sends or receives one fax over UDPTL on loopback UDP, in
 * real time, and prints one JSON line describing the result.
 *
 * SpanDSP provides T.30 and the T.38 IFP layer (t38_terminal, t38_core); UDPTL framing
 * with redundancy, packet loss simulation and the real-time clock are ours, below.
 * Written against SpanDSP 0.0.6 (Debian 12, libspandsp-dev).
 *
 * Usage: see usage() or README.md next to this file.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tiffio.h>

#include <spandsp.h>

#define SAMPLES_PER_TICK 160 /* 20 ms at 8000 samples per second */
#define NS_PER_TICK 20000000LL

#define MAX_REDUNDANCY 8
#define MAX_IFP_LEN 1024
#define MAX_DATAGRAM_LEN 16384
#define HISTORY_LEN 16 /* power of two, > MAX_REDUNDANCY */

/* Exit codes: 0 the fax went through, 1 it did not, 2 bad usage or setup. */
#define EXIT_FAX_FAILED 1
#define EXIT_USAGE 2

/* ------------------------------------------------------------------------------------ */
/* Options */

enum role { ROLE_SEND, ROLE_RECEIVE };

struct options {
    enum role role;
    struct sockaddr_in listen_addr;
    struct sockaddr_in remote_addr;
    const char *file;
    int ecm;
    const char *ident;
    int compressions; /* T30_SUPPORT_*_COMPRESSION bits */
    int modems;       /* T30_SUPPORT_V* bits */
    int redundancy;
    double loss_percent;
    uint64_t seed;
    double timeout_s;
    int t38_version;
    int trace_level; /* SPAN_LOG_* severity, 0 = off */
};

static const char *program = "spandsp_peer";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s send|receive --listen IP:PORT --remote IP:PORT [options]\n"
            "\n"
            "  --file IN.tif          TIFF to send (send)\n"
            "  -o, --output OUT.tif   where received pages are written (receive)\n"
            "  --ecm | --no-ecm       offer error correction mode (default: --ecm)\n"
            "  --ident ID             our station identifier, at most 20 characters\n"
            "  --compression LIST     allowed codings, from mh,mr,mmr (default: all)\n"
            "  --modems LIST          allowed image modems, from v17,v29,v27ter (default: all)\n"
            "  --redundancy N         secondary IFPs per UDPTL packet, 0..%d (default: 3)\n"
            "  --loss PERCENT         drop this share of outgoing datagrams (default: 0)\n"
            "  --seed S               seed of the loss generator (default: 1)\n"
            "  --timeout SECONDS      give up after this long (default: 300)\n"
            "  --version V            T.38 version, 0..3 (default: 0)\n"
            "  --trace                SpanDSP's T.30 log on stderr\n"
            "  --trace-level N        SpanDSP log level 0..10 for T.30, T.38 and the terminal\n"
            "                         (5 flow, 8 every packet)\n"
            "\n"
            "Prints one JSON line on stdout; exits 0 only if the fax went through.\n",
            program,
            MAX_REDUNDANCY);
}

static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(run with --help for usage)\n");
    exit(EXIT_USAGE);
}

static void parse_address(const char *flag, const char *text, struct sockaddr_in *addr)
{
    char host[64];
    const char *colon;
    char *end;
    long port;
    size_t host_len;

    colon = strrchr(text, ':');
    if (colon == NULL)
        die_usage("%s wants IP:PORT, got '%s'", flag, text);
    host_len = (size_t) (colon - text);
    if (host_len == 0 || host_len >= sizeof(host))
        die_usage("%s: bad address '%s'", flag, text);
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 || port > 65535)
        die_usage("%s: bad port in '%s'", flag, text);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, host, &addr->sin_addr) != 1)
        die_usage("%s: '%s' is not an IPv4 address", flag, host);
}

static long parse_long(const char *flag, const char *text, long min, long max)
{
    char *end;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || value < min || value > max)
        die_usage("%s wants a whole number from %ld to %ld, got '%s'", flag, min, max, text);
    return value;
}

static double parse_double(const char *flag, const char *text, double min, double max)
{
    char *end;
    double value;

    errno = 0;
    value = strtod(text, &end);
    if (errno != 0 || *end != '\0' || end == text || !(value >= min && value <= max))
        die_usage("%s wants a number from %g to %g, got '%s'", flag, min, max, text);
    return value;
}

struct name_bit {
    const char *name;
    int bit;
};

static int parse_list(const char *flag, const char *text, const struct name_bit *names)
{
    char buf[128];
    char *item;
    char *save;
    int bits;
    int i;

    if (strlen(text) >= sizeof(buf))
        die_usage("%s: list too long", flag);
    strcpy(buf, text);
    bits = 0;
    for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        for (i = 0; names[i].name; i++) {
            if (strcmp(item, names[i].name) == 0)
                break;
        }
        if (names[i].name == NULL)
            die_usage("%s: unknown item '%s'", flag, item);
        bits |= names[i].bit;
    }
    if (bits == 0)
        die_usage("%s: empty list", flag);
    return bits;
}

static const struct name_bit compression_names[] = {
    {"mh", T30_SUPPORT_T4_1D_COMPRESSION},
    {"mr", T30_SUPPORT_T4_2D_COMPRESSION},
    {"mmr", T30_SUPPORT_T6_COMPRESSION},
    {NULL, 0},
};

static const struct name_bit modem_names[] = {
    {"v17", T30_SUPPORT_V17},
    {"v29", T30_SUPPORT_V29},
    {"v27ter", T30_SUPPORT_V27TER},
    {NULL, 0},
};

static void parse_options(int argc, char **argv, struct options *opt)
{
    enum {
        OPT_LISTEN = 256,
        OPT_REMOTE,
        OPT_FILE,
        OPT_ECM,
        OPT_NO_ECM,
        OPT_IDENT,
        OPT_COMPRESSION,
        OPT_MODEMS,
        OPT_REDUNDANCY,
        OPT_LOSS,
        OPT_SEED,
        OPT_TIMEOUT,
        OPT_VERSION,
        OPT_TRACE,
        OPT_TRACE_LEVEL,
    };
    static const struct option long_options[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"remote", required_argument, NULL, OPT_REMOTE},
        {"file", required_argument, NULL, OPT_FILE},
        {"output", required_argument, NULL, 'o'},
        {"ecm", no_argument, NULL, OPT_ECM},
        {"no-ecm", no_argument, NULL, OPT_NO_ECM},
        {"ident", required_argument, NULL, OPT_IDENT},
        {"compression", required_argument, NULL, OPT_COMPRESSION},
        {"modems", required_argument, NULL, OPT_MODEMS},
        {"redundancy", required_argument, NULL, OPT_REDUNDANCY},
        {"loss", required_argument, NULL, OPT_LOSS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"version", required_argument, NULL, OPT_VERSION},
        {"trace", no_argument, NULL, OPT_TRACE},
        {"trace-level", required_argument, NULL, OPT_TRACE_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output;
    int have_listen;
    int have_remote;
    int c;

    memset(opt, 0, sizeof(*opt));
    opt->ecm = 1;
    opt->compressions = T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION
                        | T30_SUPPORT_T6_COMPRESSION;
    opt->modems = T30_SUPPORT_V17 | T30_SUPPORT_V29 | T30_SUPPORT_V27TER;
    opt->redundancy = 3;
    opt->seed = 1;
    opt->timeout_s = 300.0;
    output = NULL;
    have_listen = 0;
    have_remote = 0;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        exit(0);
    }
    if (argc < 2)
        die_usage("missing role: send or receive");
    if (strcmp(argv[1], "send") == 0)
        opt->role = ROLE_SEND;
    else if (strcmp(argv[1], "receive") == 0)
        opt->role = ROLE_RECEIVE;
    else
        die_usage("the first argument is the role, send or receive, not '%s'", argv[1]);

    optind = 2;
    while ((c = getopt_long(argc, argv, "o:h", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            parse_address("--listen", optarg, &opt->listen_addr);
            have_listen = 1;
            break;
        case OPT_REMOTE:
            parse_address("--remote", optarg, &opt->remote_addr);
            have_remote = 1;
            break;
        case OPT_FILE:
            opt->file = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_ECM:
            opt->ecm = 1;
            break;
        case OPT_NO_ECM:
            opt->ecm = 0;
            break;
        case OPT_IDENT:
            if (strlen(optarg) > T30_MAX_IDENT_LEN)
                die_usage("--ident: at most %d characters", T30_MAX_IDENT_LEN);
            opt->ident = optarg;
            break;
        case OPT_COMPRESSION:
            opt->compressions = parse_list("--compression", optarg, compression_names);
            break;
        case OPT_MODEMS:
            opt->modems = parse_list("--modems", optarg, modem_names);
            break;
        case OPT_REDUNDANCY:
            opt->redundancy = (int) parse_long("--redundancy", optarg, 0, MAX_REDUNDANCY);
            break;
        case OPT_LOSS:
            opt->loss_percent = parse_double("--loss", optarg, 0.0, 100.0);
            break;
        case OPT_SEED:
            opt->seed = (uint64_t) parse_long("--seed", optarg, 0, 0x7FFFFFFFL);
            break;
        case OPT_TIMEOUT:
            opt->timeout_s = parse_double("--timeout", optarg, 1.0, 86400.0);
            break;
        case OPT_VERSION:
            opt->t38_version = (int) parse_long("--version", optarg, 0, 3);
            break;
        case OPT_TRACE:
            if (opt->trace_level < SPAN_LOG_FLOW)
                opt->trace_level = SPAN_LOG_FLOW;
            break;
        case OPT_TRACE_LEVEL:
            opt->trace_level = (int) parse_long("--trace-level", optarg, 0, SPAN_LOG_DEBUG_3);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            die_usage("bad option");
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (!have_listen)
        die_usage("--listen IP:PORT is required");
    if (!have_remote)
        die_usage("--remote IP:PORT is required");
    if (opt->role == ROLE_SEND) {
        if (opt->file == NULL)
            die_usage("send needs --file IN.tif");
        if (output != NULL)
            die_usage("-o is for receive; send takes --file");
    } else {
        if (output == NULL)
            die_usage("receive needs -o OUT.tif");
        if (opt->file != NULL)
            die_usage("--file is for send; receive takes -o");
        opt->file = output;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Clock and loss generator */

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* splitmix64: small, seedable, identical on every platform. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z;

    *state += 0x9E3779B97F4A7C15ULL;
    z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------------------ */
/* UDPTL as T.38's ASN.1 (Annex A) defines it, in aligned PER, redundancy mode:
 *
 *   seq-number            2 octets, big-endian
 *   primary-ifp-packet    length determinant + IFP octets
 *   error-recovery        1 octet: 0x00 secondary-ifp-packets, 0x80 fec-info
 *   secondary-ifp-packets length determinant (count), then each as length + octets,
 *                         newest first (seq - 1, seq - 2, ...)
 */

struct ifp {
    uint16_t len;
    uint8_t data[MAX_IFP_LEN];
};

struct udptl {
    int fd;
    struct sockaddr_in remote;
    int redundancy;
    double loss_percent;
    uint64_t rng;

    /* transmit */
    uint16_t tx_seq;
    unsigned tx_count; /* IFPs sent so far, for the first few packets' redundancy */
    struct ifp tx_history[HISTORY_LEN];

    /* receive */
    int rx_expected; /* next sequence number wanted, -1 before the first packet */
    t38_core_state_t *core;
    int warned_source;
    int warned_fec;

    /* counters, reported on stderr at the end */
    unsigned long datagrams_sent;
    unsigned long datagrams_dropped;
    unsigned long datagrams_received;
    unsigned long malformed;
    unsigned long duplicates;
    unsigned long recovered;
    unsigned long unrecovered;
};

static int put_length(uint8_t *buf, int pos, int cap, unsigned len)
{
    if (len < 0x80) {
        if (pos + 1 > cap)
            return -1;
        buf[pos++] = (uint8_t) len;
    } else if (len < 0x4000) {
        if (pos + 2 > cap)
            return -1;
        buf[pos++] = (uint8_t) (0x80 | (len >> 8));
        buf[pos++] = (uint8_t) (len & 0xFF);
    } else {
        return -1; /* fragmented lengths: never needed for fax IFPs */
    }
    return pos;
}

static int put_open_type(uint8_t *buf, int pos, int cap, const uint8_t *data, unsigned len)
{
    pos = put_length(buf, pos, cap, len);
    if (pos < 0 || pos + (int) len > cap)
        return -1;
    memcpy(buf + pos, data, len);
    return pos + (int) len;
}

/* Reads a length determinant; returns the new position or -1. */
static int get_length(const uint8_t *buf, int pos, int len, unsigned *value)
{
    if (pos >= len)
        return -1;
    if ((buf[pos] & 0x80) == 0) {
        *value = buf[pos];
        return pos + 1;
    }
    if ((buf[pos] & 0xC0) == 0x80) {
        if (pos + 2 > len)
            return -1;
        *value = ((unsigned) (buf[pos] & 0x3F) << 8) | buf[pos + 1];
        return pos + 2;
    }
    return -1;
}

static int get_open_type(const uint8_t *buf, int pos, int len, const uint8_t **data,
                         unsigned *data_len)
{
    pos = get_length(buf, pos, len, data_len);
    if (pos < 0 || *data_len > (unsigned) (len - pos))
        return -1;
    *data = buf + pos;
    return pos + (int) *data_len;
}

static void udptl_send_datagram(struct udptl *u, const uint8_t *buf, int len)
{
    /* The draw happens for every datagram, so a seed gives the same pattern of losses
       for the same sequence of datagrams. */
    double draw = (double) (rng_next(&u->rng) >> 11) * (1.0 / 9007199254740992.0);

    if (draw * 100.0 < u->loss_percent) {
        u->datagrams_dropped++;
        return;
    }
    /* Errors are not fatal: before the far end is up the kernel may refuse, and
       the T.30 engine retries at its own pace, as it would on a real network. */
    if (sendto(u->fd, buf, (size_t) len, 0, (const struct sockaddr *) &u->remote,
               sizeof(u->remote))
        == len)
        u->datagrams_sent++;
}

/* t38_tx_packet_handler_t: one IFP from SpanDSP, to be sent `count` times. */
static int udptl_tx_handler(t38_core_state_t *core, void *user_data, const uint8_t *ifp,
                            int ifp_len, int count)
{
    struct udptl *u = (struct udptl *) user_data;
    uint8_t buf[MAX_DATAGRAM_LEN];
    unsigned entries;
    unsigned i;
    int pos;

    (void) core;
    if (ifp_len < 0 || ifp_len > MAX_IFP_LEN) {
        fprintf(stderr, "%s: IFP of %d octets is too long\n", program, ifp_len);
        return -1;
    }
    buf[0] = (uint8_t) (u->tx_seq >> 8);
    buf[1] = (uint8_t) (u->tx_seq & 0xFF);
    pos = put_open_type(buf, 2, sizeof(buf), ifp, (unsigned) ifp_len);
    if (pos < 0 || pos >= (int) sizeof(buf))
        return -1;
    buf[pos++] = 0x00; /* error-recovery: secondary-ifp-packets */
    entries = (u->tx_count < (unsigned) u->redundancy) ? u->tx_count : (unsigned) u->redundancy;
    pos = put_length(buf, pos, sizeof(buf), entries);
    for (i = 0; pos >= 0 && i < entries; i++) {
        const struct ifp *old = &u->tx_history[(u->tx_seq - 1 - i) & (HISTORY_LEN - 1)];

        pos = put_open_type(buf, pos, sizeof(buf), old->data, old->len);
    }
    if (pos < 0) {
        fprintf(stderr, "%s: UDPTL packet does not fit\n", program);
        return -1;
    }

    /* SpanDSP asks for repeats of indicators and of the last packet of a signal; they
       keep their sequence number, so the far end drops all but the first to arrive. */
    if (count < 1)
        count = 1;
    for (i = 0; i < (unsigned) count; i++)
        udptl_send_datagram(u, buf, pos);

    u->tx_history[u->tx_seq & (HISTORY_LEN - 1)].len = (uint16_t) ifp_len;
    memcpy(u->tx_history[u->tx_seq & (HISTORY_LEN - 1)].data, ifp, (size_t) ifp_len);
    u->tx_seq++;
    u->tx_count++;
    return 0;
}

static void udptl_deliver(struct udptl *u, const uint8_t *ifp, unsigned len, uint16_t seq)
{
    t38_core_rx_ifp_packet(u->core, ifp, (int) len, seq);
}

static void udptl_rx_datagram(struct udptl *u, const uint8_t *buf, int len)
{
    const uint8_t *primary;
    unsigned primary_len;
    const uint8_t *secondary[MAX_REDUNDANCY * 2 + 16];
    unsigned secondary_len[MAX_REDUNDANCY * 2 + 16];
    unsigned secondaries;
    unsigned count;
    unsigned i;
    uint16_t seq;
    int16_t ahead;
    int pos;

    secondaries = 0;
    if (len < 3)
        goto malformed;
    seq = (uint16_t) ((buf[0] << 8) | buf[1]);
    pos = get_open_type(buf, 2, len, &primary, &primary_len);
    if (pos < 0 || primary_len == 0)
        goto malformed;
    if (pos < len) {
        if ((buf[pos] & 0x80) == 0) {
            pos = get_length(buf, pos + 1, len, &count);
            if (pos < 0)
                goto malformed;
            for (i = 0; i < count; i++) {
                const uint8_t *data;
                unsigned data_len;

                pos = get_open_type(buf, pos, len, &data, &data_len);
                if (pos < 0)
                    goto malformed;
                if (secondaries < sizeof(secondary) / sizeof(secondary[0])) {
                    secondary[secondaries] = data;
                    secondary_len[secondaries] = data_len;
                    secondaries++;
                }
            }
        } else if (!u->warned_fec) {
            fprintf(stderr, "%s: the far end uses UDPTL FEC; only its primary IFPs are used\n",
                    program);
            u->warned_fec = 1;
        }
    }

    if (u->rx_expected < 0) {
        udptl_deliver(u, primary, primary_len, seq);
        u->rx_expected = (uint16_t) (seq + 1);
        return;
    }
    ahead = (int16_t) (uint16_t) (seq - (uint16_t) u->rx_expected);
    if (ahead < 0) {
        u->duplicates++; /* a repeat, or late: its IFP was handled already */
        return;
    }
    if (ahead > 0 && ahead <= 2000) {
        /* Fill the gap from the redundancy, oldest first; what it does not cover stays
           lost, and t38_core sees the gap in the sequence numbers. */
        for (i = (unsigned) ahead; i >= 1; i--) {
            uint16_t missing_seq = (uint16_t) (seq - i);

            if (i <= secondaries && secondary_len[i - 1] > 0) {
                udptl_deliver(u, secondary[i - 1], secondary_len[i - 1], missing_seq);
                u->recovered++;
            } else {
                u->unrecovered++;
            }
        }
    }
    udptl_deliver(u, primary, primary_len, seq);
    u->rx_expected = (uint16_t) (seq + 1);
    return;

malformed:
    u->malformed++;
    fprintf(stderr, "%s: dropping a malformed UDPTL datagram of %d octets\n", program, len);
}

static void udptl_poll_rx(struct udptl *u)
{
    uint8_t buf[MAX_DATAGRAM_LEN];
    struct sockaddr_in from;
    socklen_t from_len;
    ssize_t n;

    for (;;) {
        from_len = sizeof(from);
        n = recvfrom(u->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *) &from, &from_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN, or an ICMP error reported late: nothing to read */
        }
        u->datagrams_received++;
        if (!u->warned_source
            && (from.sin_addr.s_addr != u->remote.sin_addr.s_addr
                || from.sin_port != u->remote.sin_port)) {
            char text[INET_ADDRSTRLEN];

            inet_ntop(AF_INET, &from.sin_addr, text, sizeof(text));
            fprintf(stderr,
                    "%s: note: packets arrive from %s:%u, not from --remote; replies still go "
                    "to --remote\n",
                    program, text, ntohs(from.sin_port));
            u->warned_source = 1;
        }
        udptl_rx_datagram(u, buf, (int) n);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Call state and result */

struct call {
    int phase_e_seen;
    int completion_code;
    t30_stats_t stats;
    int encoding; /* last non-zero line encoding seen in phase D or E */
    char remote_ident[T30_MAX_IDENT_LEN + 1];
};

static void remember_stats(struct call *call, t30_state_t *t30)
{
    const char *ident;

    t30_get_transfer_statistics(t30, &call->stats);
    if (call->stats.encoding != 0)
        call->encoding = call->stats.encoding;
    ident = t30_get_rx_ident(t30);
    if (ident != NULL && ident[0] != '\0')
        snprintf(call->remote_ident, sizeof(call->remote_ident), "%s", ident);
}

static int phase_d_handler(t30_state_t *t30, void *user_data, int result)
{
    (void) result;
    remember_stats((struct call *) user_data, t30);
    return T30_ERR_OK;
}

static void phase_e_handler(t30_state_t *t30, void *user_data, int completion_code)
{
    struct call *call = (struct call *) user_data;

    remember_stats(call, t30);
    call->completion_code = completion_code;
    call->phase_e_seen = 1;
}

static void json_string(FILE *out, const char *text)
{
    const unsigned char *p;

    fputc('"', out);
    for (p = (const unsigned char *) text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7F)
            fprintf(out, "\\u%04x", *p); /* idents are ASCII; anything else shows as a code */
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static int count_tiff_pages(const char *path)
{
    TIFFErrorHandler previous;
    TIFF *tiff;
    int pages;

    /* Quiet only here: SpanDSP's own reading of the file keeps libtiff's warnings. */
    previous = TIFFSetWarningHandler(NULL);
    tiff = TIFFOpen(path, "r");
    pages = (tiff != NULL) ? (int) TIFFNumberOfDirectories(tiff) : -1;
    if (tiff != NULL)
        TIFFClose(tiff);
    TIFFSetWarningHandler(previous);
    return pages;
}

static void set_trace(t38_terminal_state_t *terminal, int level, const char *tag)
{
    logging_state_t *logs[3];
    int flags;
    int i;

    logs[0] = t30_get_logging_state(t38_terminal_get_t30_state(terminal));
    logs[1] = t38_core_get_logging_state(t38_terminal_get_t38_core_state(terminal));
    logs[2] = t38_terminal_get_logging_state(terminal);
    flags = SPAN_LOG_SHOW_TAG | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_SHOW_SAMPLE_TIME;
    for (i = 0; i < 3; i++) {
        /* --trace alone is T.30's view; higher levels open up the T.38 layers too. */
        int this_level = (i == 0 || level > SPAN_LOG_FLOW) ? level : SPAN_LOG_PROTOCOL_WARNING;

        span_log_set_level(logs[i], level > 0 ? (this_level | flags) : SPAN_LOG_NONE);
        span_log_set_tag(logs[i], tag);
    }
}

static void bump_trace_clock(t38_terminal_state_t *terminal)
{
    span_log_bump_samples(t30_get_logging_state(t38_terminal_get_t30_state(terminal)),
                          SAMPLES_PER_TICK);
    span_log_bump_samples(t38_core_get_logging_state(t38_terminal_get_t38_core_state(terminal)),
                          SAMPLES_PER_TICK);
    span_log_bump_samples(t38_terminal_get_logging_state(terminal), SAMPLES_PER_TICK);
}

int main(int argc, char **argv)
{
    struct options opt;
    struct udptl udptl;
    struct call call;
    t38_terminal_state_t *terminal;
    t30_state_t *t30;
    t38_core_state_t *core;
    int64_t start;
    int64_t deadline;
    int64_t next_tick;
    int input_pages;
    int timed_out;
    int done;
    int ok;
    int pages;
    const char *status_text;
    char timeout_text[160];

    parse_options(argc, argv, &opt);

    input_pages = 0;
    if (opt.role == ROLE_SEND) {
        input_pages = count_tiff_pages(opt.file);
        if (input_pages <= 0) {
            fprintf(stderr, "%s: cannot read %s as a TIFF\n", program, opt.file);
            return EXIT_USAGE;
        }
    }

    memset(&udptl, 0, sizeof(udptl));
    udptl.remote = opt.remote_addr;
    udptl.redundancy = opt.redundancy;
    udptl.loss_percent = opt.loss_percent;
    udptl.rng = opt.seed;
    udptl.rx_expected = -1;
    udptl.fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (udptl.fd < 0) {
        perror("socket");
        return EXIT_USAGE;
    }
    if (bind(udptl.fd, (const struct sockaddr *) &opt.listen_addr, sizeof(opt.listen_addr)) < 0) {
        fprintf(stderr, "%s: cannot listen on port %u: %s\n", program,
                ntohs(opt.listen_addr.sin_port), strerror(errno));
        return EXIT_USAGE;
    }

    memset(&call, 0, sizeof(call));

    terminal = t38_terminal_init(NULL, opt.role == ROLE_SEND, udptl_tx_handler, &udptl);
    if (terminal == NULL) {
        fprintf(stderr, "%s: t38_terminal_init failed\n", program);
        return EXIT_USAGE;
    }
    t30 = t38_terminal_get_t30_state(terminal);
    core = t38_terminal_get_t38_core_state(terminal);
    udptl.core = core;

    set_trace(terminal, opt.trace_level, opt.role == ROLE_SEND ? "send" : "receive");
    t38_set_t38_version(core, opt.t38_version);
    t38_terminal_set_config(terminal, 0); /* paced, as for UDP */

    /* No IAF: a plain fax terminal, paced at the modem rate like any gateway. */
    t30_set_supported_modems(t30, opt.modems);
    t30_set_supported_compressions(t30, opt.compressions);
    t30_set_ecm_capability(t30, opt.ecm);
    if (opt.ident != NULL && t30_set_tx_ident(t30, opt.ident) < 0) {
        fprintf(stderr, "%s: SpanDSP refused the ident '%s'\n", program, opt.ident);
        return EXIT_USAGE;
    }
    if (opt.role == ROLE_SEND)
        t30_set_tx_file(t30, opt.file, -1, -1);
    else
        t30_set_rx_file(t30, opt.file, -1);
    t30_set_phase_d_handler(t30, phase_d_handler, &call);
    t30_set_phase_e_handler(t30, phase_e_handler, &call);

    start = now_ns();
    deadline = start + (int64_t) (opt.timeout_s * 1e9);
    next_tick = start;
    timed_out = 0;
    done = 0;
    while (!done) {
        int64_t now = now_ns();
        int wait_ms;
        struct pollfd pfd;

        while (now >= next_tick && !done) {
            bump_trace_clock(terminal);
            done = t38_terminal_send_timeout(terminal, SAMPLES_PER_TICK);
            next_tick += NS_PER_TICK;
        }
        if (done)
            break;
        if (now >= deadline) {
            timed_out = 1;
            t30_terminate(t30);
            break;
        }
        wait_ms = (int) ((next_tick - now + 999999) / 1000000);
        pfd.fd = udptl.fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, wait_ms) > 0)
            udptl_poll_rx(&udptl);
    }

    if (!call.phase_e_seen) {
        /* The terminal stopped without reaching phase E: report it as a dropped call. */
        remember_stats(&call, t30);
        call.completion_code = T30_ERR_CALLDROPPED;
    }
    status_text = t30_completion_code_to_str(call.completion_code);
    if (timed_out) {
        snprintf(timeout_text, sizeof(timeout_text), "timed out after %g s (%s)", opt.timeout_s,
                 status_text);
        status_text = timeout_text;
    }
    pages = (opt.role == ROLE_SEND) ? call.stats.pages_tx : call.stats.pages_rx;
    ok = !timed_out && call.completion_code == T30_ERR_OK
         && (opt.role == ROLE_RECEIVE ? pages > 0 : pages == input_pages);

    fprintf(stderr,
            "%s: udptl: sent %lu, dropped %lu, received %lu, duplicate %lu, recovered %lu, "
            "unrecovered %lu, malformed %lu\n",
            program, udptl.datagrams_sent, udptl.datagrams_dropped, udptl.datagrams_received,
            udptl.duplicates, udptl.recovered, udptl.unrecovered, udptl.malformed);

    printf("{\"result\":\"%s\",\"t30_status\":%d,\"status_text\":", ok ? "ok" : "failed",
           call.completion_code);
    json_string(stdout, status_text);
    printf(",\"pages\":%d,\"remote_ident\":", pages);
    json_string(stdout, call.remote_ident);
    printf(",\"bit_rate\":%d,\"ecm\":%s,\"compression\":", call.stats.bit_rate,
           call.stats.error_correcting_mode ? "true" : "false");
    json_string(stdout, call.encoding ? t4_encoding_to_str(call.encoding) : "");
    printf(",\"duration_s\":%.3f}\n", (double) (now_ns() - start) / 1e9);
    fflush(stdout);

    t38_terminal_free(terminal);
    close(udptl.fd);
    return ok ? 0 : EXIT_FAX_FAILED;
}
