#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ownership and mode rules for the state directory and the database files, which hold client secrets.
enum StateDirectory {
    /// Creates `path` with mode 0700 when missing, then refuses it unless it is a directory owned by the effective
    /// uid that neither group nor others can write (anyone who can write it could swap the database).
    static func prepare(_ path: String) throws(StoreError) {
        if mkdir(path, 0o700) == 0 {
            // The umask is process-wide and may be narrowed for a moment by a socket being bound elsewhere in the
            // process: give the new directory its mode explicitly.
            guard chmod(path, 0o700) == 0 else { throw StoreError(.io, "chmod: \(systemError())") }
        } else if errno != EEXIST {
            throw StoreError(.io, "mkdir: \(systemError())")
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw StoreError(.io, "stat: \(systemError())") }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw StoreError(.unsafePermissions, "state directory: not a directory")
        }
        guard info.st_uid == geteuid() else {
            throw StoreError(.unsafePermissions, "state directory: owned by uid \(info.st_uid), not \(geteuid())")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw StoreError(.unsafePermissions,
                             "state directory: group- or world-writable (mode \(octal(info.st_mode)))")
        }
    }

    /// Creates `path` with mode 0600 when missing (an existing one was checked first). SQLite would create it with
    /// the umask's mode (0644 usually) and gives its `-wal` and `-shm` files the main file's mode, so creating it
    /// first makes all three private.
    static func createPrivateFile(_ path: String) throws(StoreError) {
        let fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.io, "open: \(systemError())") }
        close(fd)
    }

    /// Refuses an existing `path` unless it is a regular file (not a symlink) owned by the effective uid with no
    /// group or world permission. A missing file passes: SQLite creates side files with the main file's mode.
    static func checkPrivateFile(_ path: String) throws(StoreError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw StoreError(.io, "lstat: \(systemError())")
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw StoreError(.unsafePermissions, "\(name): not a regular file")
        }
        guard info.st_uid == geteuid() else {
            throw StoreError(.unsafePermissions, "\(name): owned by uid \(info.st_uid), not \(geteuid())")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw StoreError(.unsafePermissions, "\(name): group or world has access (mode \(octal(info.st_mode)))")
        }
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }

    private static func octal(_ mode: mode_t) -> String { String(mode & 0o7777, radix: 8) }
}
