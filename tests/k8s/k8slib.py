"""What the tests of k8s/ share: the npm modules of tests/k8s/package.json,
installed by `npm ci` into the build directory (the source tree may be
read-only, as under make distcheck), and tests/k8s/manifests.js run with
them."""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import SRCDIR  # noqa: E402

BUILDDIR = os.environ.get("CUTOVER_BUILDDIR") or os.path.join(SRCDIR,
                                                              "build", "dev")
NPM_DIR = os.path.join(BUILDDIR, "tests", "k8s", "npm")
MANIFESTS_JS = os.path.join(SRCDIR, "tests", "k8s", "manifests.js")
K8S = os.path.join(SRCDIR, "k8s")


def npm_modules():
    """The node_modules directory of tests/k8s/package-lock.json, installed
    once per build directory (again when the lock file changes); raises
    RuntimeError with npm's output when it cannot be."""
    lock = os.path.join(HERE, "package-lock.json")
    with open(lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(NPM_DIR, exist_ok=True)
    modules = os.path.join(NPM_DIR, "node_modules")
    stamp = os.path.join(NPM_DIR, "installed")
    # two tests may start at once: one installs, the other waits for it
    with open(os.path.join(NPM_DIR, "lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            with open(stamp) as f:
                if f.read().strip() == digest and os.path.isdir(modules):
                    return modules
        except FileNotFoundError:
            pass
        for tool in ("node", "npm"):
            if shutil.which(tool) is None:
                raise RuntimeError("%s not found (scripts/install-deps "
                                   "installs nodejs and npm)" % tool)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(os.path.join(HERE, name),
                            os.path.join(NPM_DIR, name))
        p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund",
                            "--ignore-scripts", "--loglevel=error"],
                           cwd=NPM_DIR, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=300)
        if p.returncode != 0:
            raise RuntimeError("npm ci in %s failed (exit %d):\n%s%s" % (
                NPM_DIR, p.returncode, p.stdout, p.stderr))
        with open(stamp, "w") as f:
            f.write(digest + "\n")
    return modules


def manifests(mode, directory=K8S, *extra):
    """Runs manifests.js MODE DIRECTORY EXTRA...: (exit code, stdout,
    stderr)."""
    env = dict(os.environ, NODE_PATH=npm_modules())
    p = subprocess.run(["node", MANIFESTS_JS, mode, directory] + list(extra),
                       capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL, timeout=120)
    return p.returncode, p.stdout, p.stderr


def documents(directory=K8S, *extra):
    """The documents of a kustomization (and of the extra files), parsed:
    [{"file", "index", "doc"}] in the kustomization's order."""
    rc, out, err = manifests("dump", directory, *extra)
    if rc != 0:
        raise RuntimeError("manifests.js dump %s: exit %d\n%s%s" % (
            directory, rc, out, err))
    return json.loads(out)
