// svirt-audit's native face: libselinux and libapparmor opened at run time (dlopen), so
// the addon builds and loads on hosts without either; plain xattrs; execve.
//
// Every failure is a JS Error with `errno` and `call`, and `code` ENOTAVAILABLE when a
// library or symbol is missing (native/index.ts adds the errno's name as `code` otherwise). Bad arguments throw TypeError/RangeError;
// nothing here may crash the process.

#include <napi.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

constexpr size_t kMaxContext = 4096;
constexpr size_t kMaxPath = PATH_MAX;
constexpr size_t kMaxXattrValue = 65536;

void* Library(const char* soname) {
  // RTLD_GLOBAL: the library's symbols join the global scope, below any LD_PRELOAD.
  return dlopen(soname, RTLD_NOW | RTLD_GLOBAL);
}

// SVIRT_AUDIT_NATIVE_DISABLE=selinux,apparmor makes a library count as absent: how tests
// (and users who want no LSM calls) see the behaviour of a host without it.
bool Disabled(const char* which) {
  const char* v = getenv("SVIRT_AUDIT_NATIVE_DISABLE");
  return v != nullptr && strstr(v, which) != nullptr;
}

void* Selinux() {
  static void* handle = Disabled("selinux") ? nullptr : Library("libselinux.so.1");
  return handle;
}

void* Apparmor() {
  static void* handle = Disabled("apparmor") ? nullptr : Library("libapparmor.so.1");
  return handle;
}

// Look a symbol up in the global scope first: a test's LD_PRELOAD shim answers before the
// real library, as libvirt's own tests mock libselinux.
template <typename F>
F Symbol(void* library, const char* name) {
  if (library == nullptr) return nullptr;
  void* p = dlsym(RTLD_DEFAULT, name);
  if (p == nullptr) p = dlsym(library, name);
  return reinterpret_cast<F>(p);
}

Napi::Error NotAvailable(Napi::Env env, const char* call, const char* library) {
  Napi::Error e = Napi::Error::New(env, std::string(call) + ": " + library + " is not available on this host");
  e.Set("code", Napi::String::New(env, "ENOTAVAILABLE"));
  e.Set("errno", Napi::Number::New(env, 0));
  e.Set("call", Napi::String::New(env, call));
  return e;
}

// No `code` here: native/index.ts names the errno from Node's table. glibc's
// strerrorname_np would do it, but needs glibc 2.32 (RHEL 8 has 2.28, Debian 11 2.31).
Napi::Error ErrnoError(Napi::Env env, const char* call, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(call) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("call", Napi::String::New(env, call));
  return e;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what, size_t max) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  }
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " contains a NUL byte");
  }
  if (s.size() > max) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " is longer than " + std::to_string(max) + " bytes");
  }
  return s;
}

// ---- libselinux -----------------------------------------------------------------------

using IntVoid = int (*)();
using GetFileConFn = int (*)(const char*, char**);
using SetFileConFn = int (*)(const char*, const char*);
using SetConFn = int (*)(const char*);
using FreeConFn = void (*)(char*);

Napi::Value IsSelinuxEnabled(const Napi::CallbackInfo& info) {
  auto fn = Symbol<IntVoid>(Selinux(), "is_selinux_enabled");
  if (fn == nullptr) throw NotAvailable(info.Env(), "is_selinux_enabled", "libselinux");
  return Napi::Boolean::New(info.Env(), fn() == 1);
}

Napi::Value ContextResult(Napi::Env env, const char* call, int r, char* con) {
  if (r < 0 || con == nullptr) throw ErrnoError(env, call, errno != 0 ? errno : EINVAL);
  Napi::String out = Napi::String::New(env, con);
  auto freecon = Symbol<FreeConFn>(Selinux(), "freecon");
  if (freecon != nullptr) freecon(con);
  return out;
}

Napi::Value Lgetfilecon(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path", kMaxPath);
  auto fn = Symbol<GetFileConFn>(Selinux(), "lgetfilecon");
  if (fn == nullptr) throw NotAvailable(info.Env(), "lgetfilecon", "libselinux");
  char* con = nullptr;
  errno = 0;
  int r = fn(path.c_str(), &con);
  return ContextResult(info.Env(), "lgetfilecon", r, con);
}

Napi::Value Lsetfilecon(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path", kMaxPath);
  std::string ctx = StringArg(info, 1, "context", kMaxContext);
  auto fn = Symbol<SetFileConFn>(Selinux(), "lsetfilecon");
  if (fn == nullptr) throw NotAvailable(info.Env(), "lsetfilecon", "libselinux");
  errno = 0;
  if (fn(path.c_str(), ctx.c_str()) < 0) throw ErrnoError(info.Env(), "lsetfilecon", errno != 0 ? errno : EINVAL);
  return info.Env().Undefined();
}

Napi::Value Setexeccon(const Napi::CallbackInfo& info) {
  std::string ctx = StringArg(info, 0, "context", kMaxContext);
  auto fn = Symbol<SetConFn>(Selinux(), "setexeccon");
  if (fn == nullptr) throw NotAvailable(info.Env(), "setexeccon", "libselinux");
  errno = 0;
  if (fn(ctx.c_str()) < 0) throw ErrnoError(info.Env(), "setexeccon", errno != 0 ? errno : EINVAL);
  return info.Env().Undefined();
}

// ---- libapparmor ----------------------------------------------------------------------

using AaOnexecFn = int (*)(const char*);
using AaGetconFn = int (*)(char**, char**);

Napi::Value AaChangeOnexec(const Napi::CallbackInfo& info) {
  std::string profile = StringArg(info, 0, "profile", kMaxContext);
  auto fn = Symbol<AaOnexecFn>(Apparmor(), "aa_change_onexec");
  if (fn == nullptr) throw NotAvailable(info.Env(), "aa_change_onexec", "libapparmor");
  errno = 0;
  if (fn(profile.c_str()) < 0) throw ErrnoError(info.Env(), "aa_change_onexec", errno != 0 ? errno : EINVAL);
  return info.Env().Undefined();
}

Napi::Value AaGetcon(const Napi::CallbackInfo& info) {
  auto fn = Symbol<AaGetconFn>(Apparmor(), "aa_getcon");
  if (fn == nullptr) throw NotAvailable(info.Env(), "aa_getcon", "libapparmor");
  char* label = nullptr;
  char* mode = nullptr;
  errno = 0;
  if (fn(&label, &mode) < 0 || label == nullptr) throw ErrnoError(info.Env(), "aa_getcon", errno != 0 ? errno : EINVAL);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("label", Napi::String::New(info.Env(), label));
  out.Set("mode", mode == nullptr ? info.Env().Null() : Napi::String::New(info.Env(), mode));
  free(label);  // aa_getcon: mode points into the same allocation
  return out;
}

// ---- xattrs ---------------------------------------------------------------------------

Napi::Value GetXattr(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path", kMaxPath);
  std::string name = StringArg(info, 1, "name", XATTR_NAME_MAX);
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (n >= 0) {
      size_t len = static_cast<size_t>(n);
      // security.selinux values carry a trailing NUL.
      while (len > 0 && buf[len - 1] == '\0') len--;
      return Napi::String::New(info.Env(), buf.data(), len);
    }
    if (errno == ENODATA) return info.Env().Null();
    if (errno != ERANGE || buf.size() >= kMaxXattrValue) throw ErrnoError(info.Env(), "lgetxattr", errno);
    buf.resize(buf.size() * 4);
  }
}

Napi::Value SetXattr(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path", kMaxPath);
  std::string name = StringArg(info, 1, "name", XATTR_NAME_MAX);
  std::string value = StringArg(info, 2, "value", kMaxXattrValue);
  if (lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) < 0) throw ErrnoError(info.Env(), "lsetxattr", errno);
  return info.Env().Undefined();
}

Napi::Value RemoveXattr(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path", kMaxPath);
  std::string name = StringArg(info, 1, "name", XATTR_NAME_MAX);
  if (lremovexattr(path.c_str(), name.c_str()) < 0) {
    if (errno == ENODATA) return Napi::Boolean::New(info.Env(), false);
    throw ErrnoError(info.Env(), "lremovexattr", errno);
  }
  return Napi::Boolean::New(info.Env(), true);
}

// ---- execve ---------------------------------------------------------------------------

Napi::Value Execve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file = StringArg(info, 0, "file", kMaxPath);
  if (info.Length() < 3 || !info[1].IsArray() || !info[2].IsObject()) {
    throw Napi::TypeError::New(env, "execve(file, argv: string[], env: Record<string, string>)");
  }
  Napi::Array argv = info[1].As<Napi::Array>();
  if (argv.Length() > 65536) throw Napi::RangeError::New(env, "argv has too many arguments");
  std::vector<std::string> args;
  for (uint32_t i = 0; i < argv.Length(); i++) {
    Napi::Value v = argv.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "argv must hold only strings");
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "an argument contains a NUL byte");
    args.push_back(s);
  }
  Napi::Object envObj = info[2].As<Napi::Object>();
  Napi::Array keys = envObj.GetPropertyNames();
  std::vector<std::string> envs;
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string k = keys.Get(i).ToString().Utf8Value();
    Napi::Value v = envObj.Get(k);
    if (!v.IsString()) continue;
    std::string val = v.As<Napi::String>().Utf8Value();
    if (k.find('\0') != std::string::npos || k.find('=') != std::string::npos || val.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, "environment names and values may not hold NUL, names not '='");
    }
    envs.push_back(k + "=" + val);
  }
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::vector<char*> cenv;
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  // Node marks stdin, stdout and stderr close-on-exec (and may leave them non-blocking):
  // QEMU must inherit them as any program expects, or it starts with no stdio at all.
  for (int fd = 0; fd <= 2; fd++) {
    int fdflags = fcntl(fd, F_GETFD);
    if (fdflags >= 0) fcntl(fd, F_SETFD, fdflags & ~FD_CLOEXEC);
    int flflags = fcntl(fd, F_GETFL);
    if (flflags >= 0) fcntl(fd, F_SETFL, flflags & ~O_NONBLOCK);
  }
  execve(file.c_str(), cargs.data(), cenv.data());
  // Only returns on failure.
  throw ErrnoError(env, "execve", errno);
}

// One datagram to a unix datagram socket (syslog's /dev/log): Node's dgram has no
// AF_UNIX. Non-blocking: a syslog daemon that stopped reading makes this throw EAGAIN
// rather than stall the event loop; the caller tries again later.
Napi::Value SendUnixDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path", sizeof(sockaddr_un::sun_path) - 1);
  if (info.Length() < 2 || !info[1].IsBuffer()) throw Napi::TypeError::New(env, "message must be a Buffer");
  Napi::Buffer<char> message = info[1].As<Napi::Buffer<char>>();
  sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, "socket", errno);
  ssize_t sent = sendto(fd, message.Data(), message.Length(), MSG_DONTWAIT | MSG_NOSIGNAL,
                        reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  close(fd);
  if (sent < 0) throw ErrnoError(env, "sendto", err);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sendUnixDatagram", Napi::Function::New(env, SendUnixDatagram));
  exports.Set("isSelinuxEnabled", Napi::Function::New(env, IsSelinuxEnabled));
  exports.Set("lgetfilecon", Napi::Function::New(env, Lgetfilecon));
  exports.Set("lsetfilecon", Napi::Function::New(env, Lsetfilecon));
  exports.Set("setexeccon", Napi::Function::New(env, Setexeccon));
  exports.Set("aaChangeOnexec", Napi::Function::New(env, AaChangeOnexec));
  exports.Set("aaGetcon", Napi::Function::New(env, AaGetcon));
  exports.Set("getXattr", Napi::Function::New(env, GetXattr));
  exports.Set("setXattr", Napi::Function::New(env, SetXattr));
  exports.Set("removeXattr", Napi::Function::New(env, RemoveXattr));
  exports.Set("execve", Napi::Function::New(env, Execve));
  return exports;
}

}  // namespace

NODE_API_MODULE(svirt_native, Init)
