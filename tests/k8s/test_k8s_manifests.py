#!/usr/bin/env python3
"""What k8s/ promises an operator (README, "Kubernetes"): two cutover
replicas spread over nodes, HTTP probes on the admin listener the
ConfigMap's configuration opens, a grace period that covers its shutdown,
resources with a CPU limit, the restricted Pod Security settings, the
ConfigMap mounted as a directory, writable space only where cutover writes,
a Service, an Ingress and a PodDisruptionBudget, pools that are the example
applications' headless Services, the release Role kept out of the base,
an overlay that sets namespace and image, and an image recipe that runs as
the Pods' uid.  The ConfigMap's configuration passes `cutover -t`."""

import importlib.machinery
import importlib.util
import os
import posixpath
import re
import shutil
import subprocess
import tempfile

from k8slib import K8S, SRCDIR, documents
from harness import CUTOVER_BIN, Suite

s = Suite()

_loader = importlib.machinery.SourceFileLoader(
    "cutover_release", os.path.join(SRCDIR, "k8s", "cutover-release"))
release = importlib.util.module_from_spec(
    importlib.util.spec_from_loader("cutover_release", _loader))
_loader.exec_module(release)


def effective(path, conf):
    """cutover -T of a configuration file: {dotted.key: raw value}, the
    defaults filled in."""
    p = subprocess.run([CUTOVER_BIN, "-T", "-c", path], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=15)
    if p.returncode != 0:
        raise AssertionError("cutover -T failed: " + p.stderr)
    keys, stack = {}, []
    for line in p.stdout.splitlines():
        line = line.strip()
        m = re.fullmatch(r"(\w+) = \{", line)
        if m:
            stack.append(m.group(1))
        elif line == "};":
            stack.pop()
        else:
            m = re.fullmatch(r"(\w+) = (.*);", line)
            if m:
                keys[".".join(stack + [m.group(1)])] = m.group(2)
    return keys


def unquote(v):
    return v[1:-1] if v and v[0] == '"' else v


def by_kind(docs, kind, name=None):
    return [d["doc"] for d in docs if d["doc"]["kind"] == kind and
            (name is None or d["doc"]["metadata"]["name"] == name)]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v
                                  for k, v in selector.items())


def container_port(container, port):
    """A probe's or Service's port (a number or a port name) as a number."""
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    return None


DOCS = documents()
CM = by_kind(DOCS, "ConfigMap", "cutover")[0]
DEPLOY = by_kind(DOCS, "Deployment", "cutover")[0]
POD = DEPLOY["spec"]["template"]["spec"]
CTR = POD["containers"][0]
TMP = tempfile.mkdtemp(prefix="cutover-k8s-")
CONF_PATH = os.path.join(TMP, "cutover.conf")
with open(CONF_PATH, "w") as f:
    f.write(CM["data"]["cutover.conf"])


@s.scenario("the ConfigMap's configuration")
def _():
    p = subprocess.run([CUTOVER_BIN, "-t", "-c", CONF_PATH],
                       capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=15)
    s.eq(p.returncode, 0, "passes cutover -t", p.stdout + p.stderr)
    conf = effective(CONF_PATH, CM)
    s.match(r'^"0\.0\.0\.0:\d+"$', conf.get("admin.http"),
            "admin.http listens on every address of the Pod")
    s.eq(conf.get("workers"), "0", "workers = 0 follows the CPU limit")
    s.ok(conf.get("state_file", "").startswith('"/'),
         "a state file", conf.get("state_file"))
    s.eq(conf.get("watch_config"), "true",
         "watch_config: the ..data swap reloads it")
    s.ok(re.fullmatch(r"[1-9][0-9]*", conf.get("generation", "")),
         "a generation above 0 declares active", conf.get("generation"))
    # k8s/cutover-release rewrites these two lines of the text
    text = CM["data"]["cutover.conf"]
    s.eq(len(re.findall(r'^active = "\w+";$', text, re.M)), 1,
         "one line active = \"POOL\";", text)
    s.eq(len(re.findall(r"^generation = \d+;$", text, re.M)), 1,
         "one line generation = N;", text)
    # ... as the release script does it: the result still loads
    new = release.config_rewrite(text, "green", 7)
    with open(CONF_PATH + ".rewritten", "w") as f:
        f.write(new)
    conf = effective(CONF_PATH + ".rewritten", CM)
    s.eq((conf.get("active"), conf.get("generation")), ('"green"', "7"),
         "k8s/cutover-release's rewrite of it says green, 7 to cutover -T",
         new)


CONF = effective(CONF_PATH, CM)
ADMIN_PORT = int(unquote(CONF["admin.http"]).rsplit(":", 1)[1])
LISTEN_PORT = int(re.search(r":(\d+)\"", CONF["listen"]).group(1))


@s.scenario("the cutover Deployment")
def _():
    s.eq(DEPLOY["spec"].get("replicas"), 2, "two replicas")
    labels = DEPLOY["spec"]["template"]["metadata"]["labels"]
    s.ok(selects(DEPLOY["spec"]["selector"]["matchLabels"], labels),
         "its selector matches its Pods")
    spread = [c for c in POD.get("topologySpreadConstraints", [])
              if c.get("topologyKey") == "kubernetes.io/hostname"]
    s.ok(len(spread) == 1 and spread[0].get("maxSkew") == 1 and
         spread[0].get("whenUnsatisfiable") in ("ScheduleAnyway",
                                                "DoNotSchedule") and
         selects(spread[0].get("labelSelector", {}).get("matchLabels"),
                 labels),
         "spread over nodes (kubernetes.io/hostname, maxSkew 1, its Pods)",
         POD.get("topologySpreadConstraints"))

    args = CTR.get("args", [])
    s.ok("-c" in args and args[args.index("-c") + 1:][:1] ==
         ["/etc/cutover/cutover.conf"], "runs -c /etc/cutover/cutover.conf",
         args)
    s.eq(container_port(CTR, "http"), LISTEN_PORT,
         "port http is the configuration's listen port")
    for probe, path in (("readinessProbe", "/readyz"),
                        ("livenessProbe", "/healthz"),
                        ("startupProbe", None)):
        get = CTR.get(probe, {}).get("httpGet", {})
        s.ok(get and (path is None or get.get("path") == path) and
             container_port(CTR, get.get("port")) == ADMIN_PORT,
             "%s: HTTP GET %s on admin.http's port %d" % (
                 probe, path or "(any path)", ADMIN_PORT), CTR.get(probe))

    delay = int(CONF["shutdown.delay_ms"])
    grace = int(CONF["shutdown.grace_ms"])
    period = POD.get("terminationGracePeriodSeconds", 30)
    s.ok(period * 1000 >= delay + grace + 2000,
         "terminationGracePeriodSeconds (%d s) covers shutdown.delay_ms + "
         "grace_ms (%d ms) with a margin of 2 s or more" % (period,
                                                           delay + grace))

    res = CTR.get("resources", {})
    s.ok(all(res.get(a, {}).get(b) for a in ("requests", "limits")
             for b in ("cpu", "memory")),
         "requests and limits of cpu and memory", res)


def security(pod, ctr):
    """The effective security settings of a container: its own over the
    Pod's."""
    out = dict(pod.get("securityContext", {}))
    out.update(ctr.get("securityContext", {}))
    return out


@s.scenario("every Pod meets the restricted Pod Security Standard")
def _():
    for d in by_kind(DOCS, "Deployment"):
        name = d["metadata"]["name"]
        pod = d["spec"]["template"]["spec"]
        s.eq(pod.get("automountServiceAccountToken"), False,
             "%s: no service account token" % name)
        s.ok(not pod.get("hostNetwork") and not pod.get("hostPID") and
             not pod.get("hostIPC"), "%s: no host namespaces" % name)
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = security(pod, c)
            what = "%s/%s: " % (name, c["name"])
            s.eq(sc.get("runAsNonRoot"), True, what + "runAsNonRoot")
            s.ok(isinstance(sc.get("runAsUser"), int) and sc["runAsUser"] > 0
                 and isinstance(sc.get("runAsGroup"), int) and
                 sc["runAsGroup"] > 0, what + "a fixed non-root uid and gid",
                 sc)
            s.eq(sc.get("readOnlyRootFilesystem"), True,
                 what + "readOnlyRootFilesystem")
            s.eq(sc.get("allowPrivilegeEscalation"), False,
                 what + "allowPrivilegeEscalation false")
            s.eq(sc.get("capabilities"), {"drop": ["ALL"]},
                 what + "capabilities: drop ALL, add none")
            s.eq(sc.get("seccompProfile"), {"type": "RuntimeDefault"},
                 what + "seccomp RuntimeDefault")
            s.ok(not sc.get("privileged"), what + "not privileged")


@s.scenario("volumes: the ConfigMap as a directory, emptyDirs where "
            "cutover writes")
def _():
    volumes = {v["name"]: v for v in POD.get("volumes", [])}
    mounts = CTR.get("volumeMounts", [])
    cm = [m for m in mounts
          if volumes.get(m["name"], {}).get("configMap", {}).get("name") ==
          "cutover"]
    s.ok(len(cm) == 1 and "subPath" not in cm[0] and
         "subPathExpr" not in cm[0] and cm[0].get("readOnly") is True and
         cm[0]["mountPath"] == "/etc/cutover",
         "the ConfigMap mounted read-only at /etc/cutover, no subPath (so "
         "updates arrive)", mounts)
    s.ok("cutover.conf" in CM["data"], "its key is cutover.conf")

    written = [unquote(CONF["admin.socket"]), unquote(CONF["state_file"])]
    writable = [m for m in mounts if not m.get("readOnly")]
    s.ok(all("emptyDir" in volumes.get(m["name"], {}) for m in writable),
         "every writable mount is an emptyDir", writable)
    for path in written:
        s.ok(any(path.startswith(m["mountPath"].rstrip("/") + "/")
                 for m in writable),
             "%s is on a writable mount" % path, writable)
    for m in writable:
        s.ok(any(p.startswith(m["mountPath"].rstrip("/") + "/")
                 for p in written),
             "the writable mount %s holds what cutover writes" %
             m["mountPath"], written)


@s.scenario("Service, Ingress, PodDisruptionBudget")
def _():
    labels = DEPLOY["spec"]["template"]["metadata"]["labels"]
    svc = by_kind(DOCS, "Service", "cutover")
    s.ok(len(svc) == 1 and selects(svc[0]["spec"]["selector"], labels),
         "the Service cutover selects the cutover Pods")
    ports = {p.get("name"): p for p in svc[0]["spec"]["ports"]}
    s.ok(all(container_port(CTR, p["targetPort"]) == LISTEN_PORT
             for p in ports.values()),
         "it sends to the client port, never to admin.http", ports)

    ing = by_kind(DOCS, "Ingress")
    s.eq(len(ing), 1, "one Ingress")
    backends = [p["backend"]["service"] for r in ing[0]["spec"]["rules"]
                for p in r["http"]["paths"]]
    s.ok(backends and all(b["name"] == "cutover" and
                          (b["port"].get("name") in ports or
                           b["port"].get("number") in
                           [p["port"] for p in ports.values()])
                          for b in backends),
         "the Ingress sends every path to the cutover Service's port",
         backends)

    pdb = by_kind(DOCS, "PodDisruptionBudget")
    s.ok(len(pdb) == 1 and selects(pdb[0]["spec"]["selector"]["matchLabels"],
                                   labels) and
         (pdb[0]["spec"].get("minAvailable") == 1 or
          pdb[0]["spec"].get("maxUnavailable") == 1),
         "a PodDisruptionBudget keeps one cutover Pod of the two", pdb)


@s.scenario("the pools are the example applications' headless Services")
def _():
    for pool in ("blue", "green"):
        dns = unquote(CONF.get("pools.%s.dns" % pool, ""))
        m = re.fullmatch(r"([a-z0-9-]+)(\.[a-z0-9.-]+)?:(\d+)", dns)
        s.ok(m is not None, "pool %s is a dns name: %s" % (pool, dns))
        if m is None:
            continue
        name, port = m.group(1), int(m.group(3))
        svc = by_kind(DOCS, "Service", name)
        s.ok(len(svc) == 1 and svc[0]["spec"].get("clusterIP") == "None",
             "pool %s: %s is a headless Service of the base" % (pool, name))
        if len(svc) != 1:
            continue
        sp = [p for p in svc[0]["spec"]["ports"] if p["port"] == port]
        apps = [d for d in by_kind(DOCS, "Deployment")
                if selects(svc[0]["spec"]["selector"],
                           d["spec"]["template"]["metadata"]["labels"])]
        s.ok(len(sp) == 1 and len(apps) == 1,
             "pool %s: the Service has port %d and selects one Deployment" %
             (pool, port), (sp, [a["metadata"]["name"] for a in apps]))
        if len(sp) == 1 and len(apps) == 1:
            ctr = apps[0]["spec"]["template"]["spec"]["containers"][0]
            s.eq(container_port(ctr, sp[0].get("targetPort", port)), port,
                 "pool %s: cutover's port is the Pods' own (headless)" %
                 pool)
            s.ok("readinessProbe" in ctr,
                 "pool %s: its Pods have a readiness probe (only ready Pods "
                 "are in the name)" % pool)
    others = [d["doc"]["metadata"]["name"] for d in DOCS
              if d["doc"]["kind"] == "Service" and
              d["doc"]["metadata"]["name"] != "cutover" and
              d["doc"]["spec"].get("clusterIP") != "None"]
    s.eq(others, [], "no pool Service has a cluster IP")


@s.scenario("the release Role is separate")
def _():
    s.eq([d["file"] for d in DOCS if d["file"].endswith("release-rbac.yaml")],
         [], "release-rbac.yaml is not in the base")
    s.eq([d["doc"]["kind"] for d in DOCS if d["doc"]["kind"] in (
        "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
        "ServiceAccount")], [], "the base grants no API access")
    rbac = documents(K8S, os.path.join(K8S, "release-rbac.yaml"))[len(DOCS):]
    s.eq([d["doc"]["kind"] for d in rbac], ["Role"],
         "release-rbac.yaml is one Role, bound by the operator")
    rules = {}
    for r in rbac[0]["doc"]["rules"] if rbac else []:
        for res in r["resources"]:
            rules[res] = sorted(r["verbs"])
    s.eq(rules, {"pods": ["get", "list"], "pods/exec": ["create", "get"],
                 "configmaps": ["get", "patch"]},
         "it grants what cutover-release does, nothing more")


@s.scenario("the example overlay")
def _():
    path = os.path.join(SRCDIR, "examples", "k8s-overlay",
                        "kustomization.yaml")
    with open(path) as f:
        text = f.read()
    s.match(r"^namespace: [a-z0-9-]+$", text, "sets a namespace")
    s.match(r"^  - \.\./\.\./k8s/?$", text, "its base is k8s/")
    images = re.findall(r"^  - name: (\S+)\n    newName: \S+", text, re.M)
    used = {c["image"].rsplit(":", 1)[0] for d in by_kind(DOCS, "Deployment")
            for c in d["spec"]["template"]["spec"]["containers"]}
    s.ok("cutover" in images and set(images) <= used,
         "sets the cutover image, and names only images the base uses",
         (images, used))


def dockerfile_stages():
    """k8s/Dockerfile as [(FROM line, [instructions])], continuation lines
    joined, comments dropped."""
    with open(os.path.join(K8S, "Dockerfile")) as f:
        text = re.sub(r"\\\n", " ", re.sub(r"^\s*#.*\n", "", f.read(),
                                           flags=re.M))
    stages = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        elif line and stages:
            stages[-1][1].append(line)
    return stages


@s.scenario("the image recipe")
def _():
    stages = dockerfile_stages()
    s.eq(len(stages), 2, "two stages", stages)
    if len(stages) != 2:
        return
    (b_from, build), (r_from, run) = stages
    s.match(r"^FROM debian:12 AS (\w+)$", b_from, "builds on debian:12")
    stage = b_from.split()[-1]
    s.ok(any(re.search(r"(^|/)configure\b", i) and
             not re.search(r"(^|\s)\./configure\b", i) for i in build),
         "configures out of tree", build)
    s.ok(any("make install DESTDIR=/out" in i for i in build),
         "installs into /out", build)
    s.eq(r_from, "FROM debian:12-slim", "runs on debian:12-slim")
    copies = [i for i in run if i.split()[0].upper() in ("COPY", "ADD")]
    s.ok(copies and all(i.startswith("COPY --from=%s /out/" % stage)
                        for i in copies),
         "the final stage copies only from the build stage's /out, never "
         "the context", copies)
    s.ok(any("/out/usr/share/man/" in i for i in copies) and
         any("/usr/bin/cutover " in i + " " for i in copies),
         "binaries and man pages", copies)
    installs = [re.search(r"apt-get install (.*?)(&&|$)", i) for i in run]
    pkgs = sorted(w for m in installs if m for w in m.group(1).split()
                  if not w.startswith("-"))
    s.eq(pkgs, ["libconfig9", "libevent-2.1-7"],
         "only the runtime libraries from apt")
    users = [i.split()[1] for i in run if i.upper().startswith("USER ")]
    sc = security(POD, CTR)
    s.eq(users[-1:], ["%d:%d" % (sc["runAsUser"], sc["runAsGroup"])],
         "USER is the Pod's runAsUser:runAsGroup")
    s.ok(not any(i.upper().startswith("HEALTHCHECK") for i in run),
         "no shell health check (the probes are HTTP)")
    s.ok(any(re.fullmatch(r'ENTRYPOINT \[ ?"/usr/bin/cutover" ?\]', i)
             for i in run), "runs /usr/bin/cutover, exec form", run)

    with open(os.path.join(SRCDIR, ".dockerignore")) as f:
        ignored = {posixpath.normpath(line.strip()) for line in f
                   if line.strip() and not line.startswith("#")}
    for want in (".git", "build*", "config.status", "**/node_modules"):
        s.ok(want in ignored, ".dockerignore has %s" % want, ignored)


shutil.rmtree(TMP, ignore_errors=True)
s.done()
