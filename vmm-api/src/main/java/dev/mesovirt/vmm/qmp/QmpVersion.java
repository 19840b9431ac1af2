package dev.mesovirt.vmm.qmp;

import com.google.gson.JsonObject;
import java.util.Objects;

/**
 * The version a QMP server announces in its greeting and in {@code query-version}: QEMU's {@code VersionInfo}
 * ({@code {"qemu": {"micro": M, "minor": m, "major": MA}, "package": "..."}}).
 *
 * @param major major version
 * @param minor minor version
 * @param micro micro version
 * @param pkg   the free-form package string (QEMU's --with-pkgversion), may be empty
 */
public record QmpVersion(int major, int minor, int micro, String pkg) {
    public QmpVersion {
        if (major < 0 || minor < 0 || micro < 0) {
            throw new IllegalArgumentException("negative version number: " + major + "." + minor + "." + micro);
        }
        Objects.requireNonNull(pkg, "pkg");
    }

    /** QEMU's VersionInfo object; a fresh copy each call (Gson trees are mutable). */
    JsonObject toJson() {
        JsonObject triple = new JsonObject();
        triple.addProperty("micro", micro);
        triple.addProperty("minor", minor);
        triple.addProperty("major", major);
        JsonObject info = new JsonObject();
        info.add("qemu", triple);
        info.addProperty("package", pkg);
        return info;
    }
}
