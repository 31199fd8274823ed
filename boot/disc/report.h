/*
 * The inventory of a scan (scan.h), as JSON for programs and as a table
 * for people. The JSON schema is documented in README.md ("Discovery").
 */
#ifndef POLYBOOT_BOOT_DISC_REPORT_H
#define POLYBOOT_BOOT_DISC_REPORT_H

#include <stdio.h>

struct scan;

/* The whole inventory as one JSON document (malloc'd), or NULL. */
char *report_json(const struct scan *s);

/* A readable listing: disks and partitions, OSes with what they need and
 * share, boot options, warnings. */
void report_table(const struct scan *s, FILE *out);

#endif
