/* Test-only LD_PRELOAD library standing in for the kernel's answers to libselinux, as
 * libvirt's test suite mocks libselinux: SELinux "enabled", setexeccon accepted (and
 * logged to $SHIM_EXECCON_LOG), getcon answering virtd_t. File labels stay real xattrs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int is_selinux_enabled(void) { return 1; }

int setexeccon(const char *con) {
  const char *log = getenv("SHIM_EXECCON_LOG");
  if (log != NULL) {
    FILE *f = fopen(log, "w");
    if (f != NULL) {
      fputs(con != NULL ? con : "(null)", f);
      fclose(f);
    }
  }
  return 0;
}

int getcon(char **con) {
  *con = strdup("system_u:system_r:virtd_t:s0-s0:c0.c1023");
  return *con == NULL ? -1 : 0;
}
