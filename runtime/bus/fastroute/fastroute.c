/*
 * edgeplane-fastroute: a Mosquitto 2.0 plugin that routes module outputs to
 * module inputs inside the broker, for the routes that need no more than
 * that.
 *
 * The router (runtime/router) takes every module output from the broker and
 * publishes it again to the inputs its routes name: two broker hops for
 * each message. For an output whose every matching route is unconditional
 * and ends at a module input, edgeplaned lists the output and its inputs in
 * a table file (runtime/bus/fastroute.go). This plugin looks each
 * published message up in that table and, on a hit, rewrites the message's
 * topic to the first input (and publishes a copy to each further one)
 * before the broker stores and delivers it: one hop. The router never sees
 * these messages.
 *
 * It must deliver exactly what the router would. It writes the property
 * bag as topic.Bag.Encode does: connection device, module and output set by
 * the runtime, empty system properties left out, system properties first,
 * application properties after them in key order, values escaped the same
 * way. It takes only bags already in that canonical form (every key and
 * value as Encode would write it, no duplicates, no unknown system keys);
 * any other message, and any message on an output not in the table, is
 * left alone for the router, which parses, drops or routes it as always.
 *
 * Options (mosquitto.conf):
 *   plugin_opt_table <path>   the table file; read at start and on SIGHUP.
 *
 * Table file, written atomically by edgeplaned:
 *   edgeplane-fastroutes 1
 *   device <device id, escaped as a bag value>
 *   <module> <output> <target module> <input> [<target module> <input> ...]
 * Names are bus names (letters, digits, '.', '_', '-'), so they need no
 * escaping in topics or bags.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define MAX_PAIRS 64

struct target {
	char *module, *input;
};

struct entry {
	char *module, *output;
	int ntargets;
	struct target *targets;
};

struct table {
	char *device;
	int n;
	struct entry *entries;
};

static mosquitto_plugin_id_t *plugin_id;
static char *table_path;
static struct table *table;

static void table_free(struct table *t)
{
	if (!t) {
		return;
	}
	for (int i = 0; i < t->n; i++) {
		free(t->entries[i].module);
		free(t->entries[i].output);
		for (int j = 0; j < t->entries[i].ntargets; j++) {
			free(t->entries[i].targets[j].module);
			free(t->entries[i].targets[j].input);
		}
		free(t->entries[i].targets);
	}
	free(t->entries);
	free(t->device);
	free(t);
}

/* table_load reads path; it returns NULL, having logged why, when the file
 * is missing or malformed, and the broker then routes nothing itself. */
static struct table *table_load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT) {
			mosquitto_log_printf(MOSQ_LOG_WARNING, "edgeplane-fastroute: %s: %s", path, strerror(errno));
		}
		return NULL;
	}
	struct table *t = calloc(1, sizeof *t);
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	bool ok = t != NULL;
	while (ok && getline(&line, &cap, f) > 0) {
		lineno++;
		char *save = NULL;
		char *tok[2 + 2 * 64];
		int ntok = 0;
		for (char *w = strtok_r(line, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
			if (ntok == (int)(sizeof tok / sizeof tok[0])) {
				ok = false;
				break;
			}
			tok[ntok++] = w;
		}
		if (!ok || ntok == 0) {
			continue;
		}
		if (lineno == 1) {
			ok = ntok == 2 && !strcmp(tok[0], "edgeplane-fastroutes") && !strcmp(tok[1], "1");
			continue;
		}
		if (!strcmp(tok[0], "device")) {
			ok = ntok == 2 && !t->device;
			if (ok) {
				ok = (t->device = strdup(tok[1])) != NULL;
			}
			continue;
		}
		if (ntok < 4 || ntok % 2 != 0) {
			ok = false;
			continue;
		}
		struct entry *grown = realloc(t->entries, (t->n + 1) * sizeof *grown);
		if (!grown) {
			ok = false;
			continue;
		}
		t->entries = grown;
		struct entry *e = &t->entries[t->n++];
		memset(e, 0, sizeof *e);
		e->module = strdup(tok[0]);
		e->output = strdup(tok[1]);
		e->targets = calloc((ntok - 2) / 2, sizeof *e->targets);
		ok = e->module && e->output && e->targets;
		for (int i = 2; ok && i < ntok; i += 2) {
			struct target *tg = &e->targets[e->ntargets++];
			tg->module = strdup(tok[i]);
			tg->input = strdup(tok[i + 1]);
			ok = tg->module && tg->input;
		}
	}
	free(line);
	fclose(f);
	if (!ok || !t->device) {
		mosquitto_log_printf(MOSQ_LOG_WARNING,
			"edgeplane-fastroute: %s: malformed at line %d; every message goes to the router", path, lineno);
		table_free(t);
		return NULL;
	}
	return t;
}

static void reload(void)
{
	table_free(table);
	table = table_load(table_path);
	mosquitto_log_printf(MOSQ_LOG_INFO, "edgeplane-fastroute: %d outputs routed in the broker",
		table ? table->n : 0);
}

static struct entry *lookup(const char *module, size_t mlen, const char *output, size_t olen)
{
	for (int i = 0; i < table->n; i++) {
		struct entry *e = &table->entries[i];
		if (strlen(e->module) == mlen && !memcmp(e->module, module, mlen) &&
			strlen(e->output) == olen && !memcmp(e->output, output, olen)) {
			return e;
		}
	}
	return NULL;
}

/* unreserved are the bytes a bag value or key carries unescaped. */
static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1; /* lower case is not canonical */
}

/* canonical reports whether s[0:n] is what the bag encoder writes for
 * some value: unreserved bytes as they are, every other byte as %XX. */
static bool canonical(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (unreserved(c)) {
			continue;
		}
		if (c != '%' || n - i < 3) {
			return false;
		}
		int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
		if (hi < 0 || lo < 0 || unreserved((unsigned char)(hi * 16 + lo))) {
			return false;
		}
		i += 2;
	}
	return true;
}

struct pair {
	const char *k, *v;
	size_t klen, vlen;
};

/* The system properties, in the order the encoder writes them. */
static const char *const system_keys[] = {"cdid", "ce", "cid", "cmid", "ct", "mid", "on", "uid"};
enum { SYS_CDID = 0, SYS_CMID = 3, SYS_ON = 6, NSYS = 8 };

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->k, y->k, n);
	if (c) {
		return c;
	}
	return (x->klen > y->klen) - (x->klen < y->klen);
}

/* rebuild returns the bag the router would deliver for a message of
 * module's output with bag, or NULL when the bag is not canonical and the
 * router must see the message. */
static char *rebuild(const char *bag, const struct entry *e)
{
	struct pair sys[NSYS] = {0};
	bool seen[NSYS] = {false};
	struct pair app[MAX_PAIRS];
	int napp = 0;

	for (const char *p = bag; *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (len == 0 || !eq) {
			return NULL;
		}
		struct pair pr = {p, eq + 1, (size_t)(eq - p), len - (size_t)(eq - p) - 1};
		if (!canonical(pr.v, pr.vlen)) {
			return NULL;
		}
		if (pr.klen > 4 && !memcmp(pr.k, "%24.", 4)) {
			int i;
			for (i = 0; i < NSYS; i++) {
				if (strlen(system_keys[i]) == pr.klen - 4 && !memcmp(pr.k + 4, system_keys[i], pr.klen - 4)) {
					break;
				}
			}
			if (i == NSYS || seen[i]) {
				return NULL;
			}
			seen[i] = true;
			sys[i] = pr;
		} else {
			if (pr.klen == 0 || napp == MAX_PAIRS) {
				return NULL;
			}
			for (size_t j = 0; j < pr.klen; j++) {
				if (!unreserved((unsigned char)pr.k[j])) {
					return NULL;
				}
			}
			app[napp++] = pr;
		}
		p = end ? end + 1 : p + len;
		if (end && !*p) {
			return NULL; /* a trailing '&' */
		}
	}
	qsort(app, napp, sizeof app[0], cmp_pair);
	for (int i = 1; i < napp; i++) {
		if (!cmp_pair(&app[i - 1], &app[i])) {
			return NULL; /* a key given twice */
		}
	}
	sys[SYS_CDID] = (struct pair){"", table->device, 0, strlen(table->device)};
	sys[SYS_CMID] = (struct pair){"", e->module, 0, strlen(e->module)};
	sys[SYS_ON] = (struct pair){"", e->output, 0, strlen(e->output)};

	size_t size = 1;
	for (int i = 0; i < NSYS; i++) {
		size += 6 + strlen(system_keys[i]) + sys[i].vlen;
	}
	for (int i = 0; i < napp; i++) {
		size += app[i].klen + app[i].vlen + 2;
	}
	char *out = mosquitto_malloc(size), *w = out;
	if (!out) {
		return NULL;
	}
	for (int i = 0; i < NSYS; i++) {
		if (sys[i].vlen == 0) {
			continue; /* empty system properties are left out */
		}
		w += sprintf(w, "%s%%24.%s=", w == out ? "" : "&", system_keys[i]);
		memcpy(w, sys[i].v, sys[i].vlen);
		w += sys[i].vlen;
	}
	for (int i = 0; i < napp; i++) {
		*w++ = '&';
		memcpy(w, app[i].k, app[i].klen);
		w += app[i].klen;
		*w++ = '=';
		memcpy(w, app[i].v, app[i].vlen);
		w += app[i].vlen;
	}
	*w = '\0';
	return out;
}

static char *input_topic(const struct target *t, const char *bag)
{
	size_t n = strlen("modules//inputs//") + strlen(t->module) + strlen(t->input) + strlen(bag) + 1;
	char *s = mosquitto_malloc(n);
	if (s) {
		snprintf(s, n, "modules/%s/inputs/%s/%s", t->module, t->input, bag);
	}
	return s;
}

static int on_message(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_message *ed = event_data;
	(void)event;
	(void)userdata;
	if (!table || table->n == 0 || ed->qos != 1 || ed->retain || strncmp(ed->topic, "modules/", 8)) {
		return MOSQ_ERR_SUCCESS;
	}

	/* modules/<m>/outputs/<o>[/<bag>] */
	const char *m = ed->topic + 8;
	const char *slash = strchr(m, '/');
	if (!slash || strncmp(slash, "/outputs/", 9)) {
		return MOSQ_ERR_SUCCESS;
	}
	const char *o = slash + 9;
	const char *oend = strchr(o, '/');
	const char *bag = oend ? oend + 1 : "";
	if (strchr(bag, '/')) {
		return MOSQ_ERR_SUCCESS;
	}
	struct entry *e = lookup(m, (size_t)(slash - m), o, oend ? (size_t)(oend - o) : strlen(o));
	if (!e) {
		return MOSQ_ERR_SUCCESS;
	}
	char *nb = rebuild(bag, e);
	if (!nb) {
		return MOSQ_ERR_SUCCESS;
	}

	char *first = input_topic(&e->targets[0], nb);
	if (!first) {
		mosquitto_free(nb);
		return MOSQ_ERR_SUCCESS;
	}
	for (int i = 1; i < e->ntargets; i++) {
		char *t = input_topic(&e->targets[i], nb);
		if (t) {
			mosquitto_broker_publish_copy(NULL, t, (int)ed->payloadlen, ed->payload, 1, false, NULL);
			mosquitto_free(t);
		}
	}
	mosquitto_free(nb);
	mosquitto_free(ed->topic);
	ed->topic = first;
	return MOSQ_ERR_SUCCESS;
}

static int on_reload(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)event_data;
	(void)userdata;
	reload();
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5) {
			return 5;
		}
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *opts, int opt_count)
{
	(void)userdata;
	plugin_id = identifier;
	for (int i = 0; i < opt_count; i++) {
		if (!strcmp(opts[i].key, "table")) {
			table_path = strdup(opts[i].value);
		}
	}
	if (!table_path) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "edgeplane-fastroute: plugin_opt_table is not set");
		return MOSQ_ERR_INVAL;
	}
	reload();
	int rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_MESSAGE, on_message, NULL, NULL);
	if (rc == MOSQ_ERR_SUCCESS) {
		rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_RELOAD, on_reload, NULL, NULL);
	}
	return rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *opts, int opt_count)
{
	(void)userdata;
	(void)opts;
	(void)opt_count;
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_MESSAGE, on_message, NULL);
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_RELOAD, on_reload, NULL);
	table_free(table);
	table = NULL;
	free(table_path);
	table_path = NULL;
	return MOSQ_ERR_SUCCESS;
}
