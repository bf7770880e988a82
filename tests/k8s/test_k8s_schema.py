#!/usr/bin/env python3
"""Every document of the kustomize base k8s/, in the order its
kustomization lists them, and the release Role, against the Kubernetes API
schemas (npm kubernetes-models): wrong types, missing required fields and
unknown fields are errors.  A broken copy of the base shows that each kind
of mistake is caught."""

import os
import re
import shutil
import tempfile

from k8slib import K8S, SRCDIR, manifests
from harness import Suite

s = Suite()
RBAC = os.path.join(K8S, "release-rbac.yaml")


def resources():
    """The resources of k8s/kustomization.yaml, in order (the list is plain
    enough to read without a YAML parser: manifests.js reads it for real)."""
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        text = f.read()
    block = re.search(r"^resources:\n((?:  - .*\n)+)", text, re.M)
    return re.findall(r"^  - (\S+)$", block.group(1), re.M) if block else []


@s.scenario("the base and the release Role")
def _():
    rc, out, err = manifests("validate", K8S, RBAC)
    s.eq(rc, 0, "every document validates", out + err)
    files = []
    for m in re.finditer(r"^ok (\S+)#\d+ ", out, re.M):
        name = os.path.relpath(m.group(1), K8S)
        if not files or files[-1] != name:
            files.append(name)
    want = resources() + ["release-rbac.yaml"]
    s.ok(len(want) >= 7, "the kustomization lists the resources", want)
    s.eq(files, want, "in the order kustomization.yaml lists them", out)
    kinds = sorted(set(re.findall(r"^ok \S+ (\w+)/", out, re.M)))
    s.eq(kinds, ["ConfigMap", "Deployment", "Ingress", "PodDisruptionBudget",
                 "Role", "Service"], "the kinds of the base", out)

    overlay = os.path.join(SRCDIR, "examples", "k8s-overlay")
    rc, out, err = manifests("validate", overlay)
    s.eq(rc, 0, "examples/k8s-overlay reads the base", out + err)


def broken(edits, extra=None):
    """manifests.js validate on a copy of k8s/ with edits {file: [(old,
    new)]} applied (each old must occur) and extra files added."""
    d = tempfile.mkdtemp(prefix="cutover-k8s-")
    try:
        base = os.path.join(d, "k8s")
        shutil.copytree(K8S, base)
        for name, pairs in edits.items():
            path = os.path.join(base, name)
            with open(path) as f:
                text = f.read()
            for old, new in pairs:
                if old not in text:
                    raise AssertionError("%s: no %r to edit" % (name, old))
                text = text.replace(old, new, 1)
            with open(path, "w") as f:
                f.write(text)
        files = []
        for name, text in (extra or {}).items():
            files.append(os.path.join(base, name))
            with open(files[-1], "w") as f:
                f.write(text)
        rc, out, err = manifests("validate", base, *files)
        return rc, out.replace(base + "/", ""), err
    finally:
        shutil.rmtree(d, ignore_errors=True)


@s.scenario("mistakes are caught")
def _():
    rc, out, err = broken({
        "cutover.yaml": [
            ("  replicas: 2\n", "  replicas: two\n"),
            ("allowPrivilegeEscalation: false\n",
             "allowPrivilegeEscalation: false\n"
             "            runAsNonRot: true\n"),
            ("  selector: { app: cutover }\n",
             "  selector: { app: cutover }\n  clusterIp: None\n")],
        "cutover-ingress.yaml": [("name: cutover\n                port:",
                                  "port:")],
        "cutover-pdb.yaml": [("minAvailable: 1", "minAvailable: [ 1 ]")],
    })
    s.eq(rc, 1, "a broken base fails", out + err)
    for want, what in (
            (r"^error cutover\.yaml#1 Deployment/cutover /spec/replicas: "
             r"must be integer", "a wrong type"),
            (r"^error cutover\.yaml#1 Deployment/cutover /spec/template/spec/"
             r"containers/0/securityContext/runAsNonRot: unknown field",
             "an unknown field deep in a Pod template"),
            (r"^error cutover\.yaml#2 Service/cutover /spec/clusterIp: "
             r"unknown field", "an unknown field in the second document"),
            (r"^error cutover-ingress\.yaml#1 Ingress/cutover .*/backend/"
             r"service: .*\(name\)", "a missing required field"),
            (r"^error cutover-pdb\.yaml#1 PodDisruptionBudget/cutover "
             r"/spec/minAvailable: ", "a list for an int-or-string")):
        s.match(want, out, "reported: " + what)
    s.match(r"^ok app-blue\.yaml#1 ", out, "the other documents still pass")

    rc, out, err = broken({"app-green.yaml": [
        ("  replicas: 2\n", "  replicas: 2\n  replicas: 3\n")]})
    s.eq(rc, 1, "a duplicate key fails", out + err)
    s.match(r"^error: .*app-green\.yaml: document 1: .*[Mm]ap keys must be "
            r"unique", out, "and is named")

    rc, out, err = broken({}, {"extra.yaml":
                               "apiVersion: example.com/v1\nkind: Widget\n"
                               "metadata: { name: w }\n---\n"
                               "apiVersion: rbac.authorization.k8s.io/v1\n"
                               "kind: Role\nmetadata: { name: r }\n"
                               "rules:\n  - verbs: [ get ]\n"
                               "    resource: [ pods ]\n"})
    s.eq(rc, 1, "an unknown kind and an unknown field of a Role fail",
         out + err)
    s.match(r'^error extra\.yaml#1 Widget/w no schema for apiVersion '
            r'"example\.com/v1" kind "Widget"', out, "the kind is named")
    s.match(r"^error extra\.yaml#2 Role/r /rules/0/resource: unknown field",
            out, "the Role's field is named")


s.done()
