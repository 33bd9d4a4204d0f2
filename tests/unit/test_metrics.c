/* test_metrics.c: rendering helpers and the HTTP endpoint end to end. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/metrics.h"

#include "tests/unit/testutil.h"

#define CHECK_EQ_U64 CHECK_EQ

static const uint64_t bounds[METRICS_HIST_BUCKETS] = {
    1000,   2000,    5000,    10000,   20000,    50000,    100000,   200000,
    500000, 1000000, 2000000, 5000000, 10000000, 20000000, 50000000, 100000000,
};
static struct metrics_hist hist[2];
static metrics_counter requests;
static int healthy = 1;

static void render(void *arg, struct metrics_buf *b)
{
	(void)arg;
	const struct metrics_hist *hs[2] = {&hist[0], &hist[1]};
	metrics_family(b, "test_requests_total", "counter", "Requests.");
	metrics_sample(b, "test_requests_total", "kind=\"plain\"", metrics_get(&requests));
	metrics_family(b, "test_latency_seconds", "histogram", "Latency.");
	metrics_hist_render(b, "test_latency_seconds", NULL, bounds, hs, 2);
}

static int health(void *arg, struct metrics_buf *b)
{
	(void)arg;
	metrics_buf_printf(b, "%s\n", healthy ? "ok" : "not synchronised");
	return healthy;
}

static uint16_t port;

static int http(const char *req, size_t req_len, char *out, size_t out_size)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	size_t got = 0;
	ssize_t n;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		return -1;
	}
	(void)!write(fd, req, req_len);
	while (got < out_size - 1 && (n = read(fd, out + got, out_size - 1 - got)) > 0) {
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fd);
	return (int)got;
}

static uv_async_t done_async;

static void *client(void *arg)
{
	static char buf[65536];
	(void)arg;

	CHECK(http("GET /metrics HTTP/1.0\r\n\r\n", 25, buf, sizeof(buf)) > 0);
	CHECK(strncmp(buf, "HTTP/1.0 200", 12) == 0);
	CHECK(strstr(buf, "test_requests_total{kind=\"plain\"} 3\n") != NULL);
	CHECK(strstr(buf, "test_latency_seconds_bucket{le=\"1e-06\"} 1\n") != NULL);
	CHECK(strstr(buf, "test_latency_seconds_bucket{le=\"+Inf\"} 3\n") != NULL);
	CHECK(strstr(buf, "test_latency_seconds_count 3\n") != NULL);

	CHECK(http("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 34, buf, sizeof(buf)) > 0);
	CHECK(strncmp(buf, "HTTP/1.0 200", 12) == 0 && strstr(buf, "\r\n\r\nok\n") != NULL);
	healthy = 0;
	CHECK(http("GET /health HTTP/1.0\r\n\r\n", 24, buf, sizeof(buf)) > 0);
	CHECK(strncmp(buf, "HTTP/1.0 503", 12) == 0 && strstr(buf, "not synchronised") != NULL);

	CHECK(http("GET /nope HTTP/1.0\r\n\r\n", 22, buf, sizeof(buf)) > 0);
	CHECK(strncmp(buf, "HTTP/1.0 404", 12) == 0);
	CHECK(http("POST / HTTP/1.0\r\n\r\n", 19, buf, sizeof(buf)) > 0);
	CHECK(strncmp(buf, "HTTP/1.0 400", 12) == 0);

	/* an oversized request is refused, not buffered */
	char *big = malloc(8192);
	memset(big, 'A', 8192);
	memcpy(big, "GET /", 5);
	CHECK(http(big, 8192, buf, sizeof(buf)) > 0);
	CHECK(strncmp(buf, "HTTP/1.0 431", 12) == 0);
	free(big);

	uv_async_send(&done_async);
	return NULL;
}

static struct metrics_server *srv;

static void on_done(uv_async_t *a)
{
	metrics_server_stop(srv);
	uv_close((uv_handle_t *)a, NULL);
}

int main(void)
{
	uv_loop_t loop;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	pthread_t th;

	metrics_hist_observe(&hist[0], bounds, 500);
	metrics_hist_observe(&hist[1], bounds, 3000);
	metrics_hist_observe(&hist[1], bounds, 999999999999ULL);
	for (int i = 0; i < 3; i++) {
		metrics_inc(&requests);
	}

	uv_loop_init(&loop);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv = metrics_server_start(&loop, (struct sockaddr *)&sin, render, health, NULL);
	CHECK(srv != NULL);
	if (srv == NULL) {
		return 1;
	}
	/* find the ephemeral port the kernel chose */
	struct sockaddr_storage bound;
	CHECK(metrics_server_sockname(srv, &bound));
	port = ntohs(((struct sockaddr_in *)&bound)->sin_port);

	uv_async_init(&loop, &done_async, on_done);
	pthread_create(&th, NULL, client, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	pthread_join(th, NULL);
	CHECK(uv_loop_close(&loop) == 0); /* nothing left open */

	/* label values: quote, backslash and newline escaped; truncation
	 * never splits an escape */
	{
		char out[16];
		metrics_label_value(out, sizeof(out), "a\"b\\c\nd");
		CHECK(strcmp(out, "a\\\"b\\\\c\\nd") == 0);
		metrics_label_value(out, 4, "ab\"c");
		CHECK(strcmp(out, "ab") == 0);
		metrics_label_value(out, sizeof(out), "/etc/x.pem");
		CHECK(strcmp(out, "/etc/x.pem") == 0);
	}

	/* the request parser: complete only at the empty line, path exact */
	{
		static const struct {
			const char *req;
			enum metrics_req want;
		} cases[] = {
		    {"", METRICS_REQ_INCOMPLETE},
		    {"GET /health HTTP/1.0\r\n", METRICS_REQ_INCOMPLETE},
		    {"GET /health HTTP/1.0\r\n\r", METRICS_REQ_INCOMPLETE},
		    {"GET /health HTTP/1.0\r\n\r\n", METRICS_REQ_HEALTH},
		    {"GET /health\n\n", METRICS_REQ_HEALTH},
		    {"GET /metrics?x HTTP/1.0\r\n\r\n", METRICS_REQ_METRICS},
		    {"GET / HTTP/1.0\r\n\r\n", METRICS_REQ_METRICS},
		    {"GET /healthz HTTP/1.0\r\n\r\n", METRICS_REQ_NOT_FOUND},
		    {"GET /metric HTTP/1.0\r\n\r\n", METRICS_REQ_NOT_FOUND},
		    {"GET\n\n", METRICS_REQ_BAD},
		    {"POST /health HTTP/1.0\r\n\r\n", METRICS_REQ_BAD},
		    {"\n\n", METRICS_REQ_BAD},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			CHECK_EQ(metrics_parse_request((const uint8_t *)cases[i].req,
			                               strlen(cases[i].req)),
			         cases[i].want);
		}
		uint8_t *big = malloc(METRICS_MAX_REQUEST);
		CHECK(big != NULL);
		memset(big, 'a', METRICS_MAX_REQUEST);
		CHECK_EQ(metrics_parse_request(big, METRICS_MAX_REQUEST - 1),
		         METRICS_REQ_INCOMPLETE);
		CHECK_EQ(metrics_parse_request(big, METRICS_MAX_REQUEST), METRICS_REQ_TOO_LARGE);
		free(big);
	}

	return test_summary("metrics");
}
