/* Test-only LD_PRELOAD library for libvirtd: answers libselinux's kernel queries so
 * libvirt's real SELinux security driver runs on a host without SELinux, the way
 * libvirt's own test suite mocks libselinux. File labels are really set (xattrs).
 * The virtual context files are read from $SHIM_CONTEXTS_DIR. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int is_selinux_enabled(void) { return 1; }
int security_getenforce(void) { return 1; }

int getcon_raw(char **con) {
  *con = strdup("system_u:system_r:virtd_t:s0-s0:c0.c1023");
  return *con == NULL ? -1 : 0;
}
int getcon(char **con) { return getcon_raw(con); }

int setexeccon_raw(const char *con) { (void)con; return 0; }
int setexeccon(const char *con) { (void)con; return 0; }
int setfscreatecon_raw(const char *con) { (void)con; return 0; }
int setsockcreatecon_raw(const char *con) { (void)con; return 0; }
int security_check_context(const char *con) { (void)con; return 0; }
int security_check_context_raw(const char *con) { (void)con; return 0; }

static char domain_path[4096];
static char image_path[4096];

const char *selinux_virtual_domain_context_path(void) {
  snprintf(domain_path, sizeof domain_path, "%s/virtual_domain_context", getenv("SHIM_CONTEXTS_DIR"));
  return domain_path;
}
const char *selinux_virtual_image_context_path(void) {
  snprintf(image_path, sizeof image_path, "%s/virtual_image_context", getenv("SHIM_CONTEXTS_DIR"));
  return image_path;
}

/* A file-contexts handle that knows no paths: libvirt then keeps labels it remembers. */
struct selabel_handle { int unused; };
static struct selabel_handle handle;
struct selabel_handle *selabel_open(unsigned int backend, const void *opts, unsigned nopts) {
  (void)backend; (void)opts; (void)nopts;
  return &handle;
}
void selabel_close(struct selabel_handle *h) { (void)h; }
int selabel_lookup_raw(struct selabel_handle *h, char **con, const char *key, int type) {
  (void)h; (void)con; (void)key; (void)type;
  errno = ENOENT;
  return -1;
}
int selabel_lookup(struct selabel_handle *h, char **con, const char *key, int type) {
  return selabel_lookup_raw(h, con, key, type);
}
