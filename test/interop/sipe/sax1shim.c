/*
 * pchat interop harness: LD_PRELOAD shim for the SIPE libpurple plugin.
 *
 * Why: Debian 12's libxml2 (2.9.14+dfsg-1.3~deb12u5 and later security updates) no longer invokes the SAX1
 * startElement/endElement callbacks of a handler table that is marked XML_SAX2_MAGIC but has no SAX2
 * startElementNs. SIPE builds exactly such a table, so it silently parses no XML at all: provisioning and every
 * XCCOS reply are ignored and group chat never starts.
 *
 * What: wrap xmlSAXUserParseMemory() (the only entry point SIPE uses) and, for such SAX1-style tables, reset
 * `initialized` so libxml2 takes the SAX1 path again. Everything else is passed through unchanged.
 *
 * Second job: make srand() seeds unique per process. SIPE builds Call-IDs and tags from rand() after
 * srand(time(NULL)), so two clients logging in within the same second (normal in a test) send identical Call-IDs and
 * From-tags. Real clients on different machines practically never collide, so the harness must not either: mix the
 * pid and the nanoseconds into the seed.
 *
 * Build: gcc -shared -fPIC -I/usr/include/libxml2 sax1shim.c -o sax1shim.so -ldl -lxml2
 * Use:   LD_PRELOAD=/path/to/sax1shim.so bitlbee ...   (see test/interop/support/shim.ts)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef int (*sax_parse_memory_fn)(xmlSAXHandlerPtr, void *, const char *, int);

int xmlSAXUserParseMemory(xmlSAXHandlerPtr sax, void *user_data, const char *buffer, int size)
{
	static sax_parse_memory_fn next_impl;

	if (!next_impl)
		next_impl = (sax_parse_memory_fn)dlsym(RTLD_NEXT, "xmlSAXUserParseMemory");
	if (!next_impl)
		return -1; /* libxml2 not loaded: behave like a parse failure rather than crash */

	/* SAX1-style handler table flagged as SAX2: downgrade it so startElement/endElement fire. */
	if (sax && sax->initialized == XML_SAX2_MAGIC && sax->startElementNs == NULL && sax->startElement != NULL)
		sax->initialized = 1;

	return next_impl(sax, user_data, buffer, size);
}

void srand(unsigned int seed)
{
	static void (*next_srand)(unsigned int);
	struct timespec now;

	if (!next_srand)
		next_srand = (void (*)(unsigned int))dlsym(RTLD_NEXT, "srand");
	clock_gettime(CLOCK_REALTIME, &now);
	next_srand(seed ^ (unsigned int)now.tv_nsec ^ ((unsigned int)getpid() << 16));
}
