/* version.h — the harness's own version; the results schema has its own in results.h. */
#ifndef SONO_VERSION_H
#define SONO_VERSION_H

#define SONO_VERSION "0.1.0"

#endif
