#!/usr/bin/python3
"""Checks the systemd unit, Dockerfile and Kubernetes manifests against ccrouterd.

  check_manifests.py --ccrouterd PATH [--deploy-dir DIR]

What drifts silently in deploy files: a flag renamed in ccrouterd but still
passed by the unit, a port or volume renamed on one side of a manifest only,
a ConfigMap config the engine rejects at start. This checks, failing with the
file named:
  - every --flag passed in the unit, the Dockerfile and the StatefulSet is in
    `ccrouterd --help`;
  - the ConfigMap's config.yaml passes `ccrouterd --check-config`;
  - the unit carries the hardening and lifecycle settings it promises;
  - the Dockerfile runs as a numeric non-root user, exposes 7700 and 7701 and
    declares the data volume;
  - (when python3-yaml is installed; skipped otherwise) the manifests parse,
    probes, Services and the PodMonitor name ports the container has, mounts
    name declared volumes, the pod runs as the image's user, one replica.
Standard library only; `systemd-analyze verify` runs from check_manifests.sh.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

errors = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def read(path):
    return open(path, encoding="utf-8").read()


def help_flags(ccrouterd):
    out = subprocess.run([ccrouterd, "--help"], capture_output=True, text=True, timeout=30)
    flags = set(re.findall(r"(--[a-z][a-z-]+)", out.stdout + out.stderr))
    if "--data-dir" not in flags:
        sys.exit(f"check_manifests: `{ccrouterd} --help` lists no flags:\n{out.stdout}{out.stderr}")
    return flags


def check_flags(where, text, known):
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", text))
    for flag in sorted(used - known):
        fail(where, f"passes {flag}, which `ccrouterd --help` does not list")
    return used


def configmap_config(text):
    """The `config.yaml: |` block of the ConfigMap, de-indented (no yaml module needed)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)config\.yaml:\s*\|\s*$", line)
        if not m:
            continue
        body = []
        for next_line in lines[i + 1:]:
            if next_line.strip() and len(next_line) - len(next_line.lstrip()) <= len(m.group(1)):
                break
            body.append(next_line)
        indent = min(len(l) - len(l.lstrip()) for l in body if l.strip())
        return "\n".join(l[indent:] for l in body) + "\n"
    return None


def check_systemd(path, known):
    unit = read(path)
    exec_lines = " ".join(re.findall(r"^Exec\w+=((?:[^\n]*\\\n)*[^\n]*)", unit, re.M))
    used = check_flags(path, exec_lines, known)
    for flag in ("--data-dir", "--config"):
        if flag not in used:
            fail(path, f"ExecStart lacks {flag}")
    required = ["StateDirectory=ccrouter", "ProtectSystem=strict", "ProtectHome=yes",
                "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                "SystemCallFilter=@system-service", "Restart=on-failure",
                "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM", "LimitNOFILE="]
    for setting in required:
        if setting not in unit:
            fail(path, f"lacks {setting.strip()}")
    if "DynamicUser=yes" not in unit and not re.search(r"^User=\w+", unit, re.M):
        fail(path, "runs as root: set DynamicUser=yes or User=")
    m = re.search(r"^TimeoutStopSec=(\d+)", unit, re.M)
    # Drain: gRPC shutdown waits 5 s, then the final snapshot is written.
    if not m or int(m.group(1)) <= 5:
        fail(path, "TimeoutStopSec must exceed the 5 s drain (plus the final snapshot)")
    if "/var/lib/ccrouter" not in exec_lines:
        fail(path, "--data-dir should be /var/lib/ccrouter (StateDirectory=ccrouter)")


def check_dockerfile(path, known):
    text = read(path)
    entry = re.search(r"^ENTRYPOINT\s+(.*)$", text, re.M)
    if not entry:
        fail(path, "no ENTRYPOINT")
    else:
        check_flags(path, entry.group(1), known)
        for needed in ("0.0.0.0:7700", "0.0.0.0:7701", "/var/lib/ccrouter"):
            if needed not in entry.group(1):
                fail(path, f"ENTRYPOINT lacks {needed}")
    expose = set(re.findall(r"^EXPOSE\s+(.*)$", text, re.M)[-1].split()) if "EXPOSE" in text else set()
    if not {"7700", "7701"} <= expose:
        fail(path, "must EXPOSE 7700 and 7701")
    if not re.search(r"^VOLUME\s+\[?\"?/var/lib/ccrouter", text, re.M):
        fail(path, "must declare VOLUME /var/lib/ccrouter")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    uid = users[-1].split(":")[0] if users else ""
    if not uid.isdigit() or uid == "0":
        fail(path, "the last USER must be a numeric non-root uid (for runAsNonRoot)")
    # Operators reload and inspect through the image's own ccctl: bookworm-slim
    # may lack `kill`, and a reload must not depend on a shell tool.
    if not re.search(r"^COPY\s.*\bccctl\s+/usr/local/bin/ccctl\s*$", text, re.M):
        fail(path, "the runtime image must carry ccctl (COPY ... ccctl /usr/local/bin/ccctl)")
    if len(re.findall(r"^FROM\s", text, re.M)) < 2:
        fail(path, "expected a multi-stage build (build stage, runtime stage)")
    return int(uid) if uid.isdigit() else None


def check_k8s(k8s_dir, known, image_uid):
    try:
        import yaml  # optional: python3-yaml is not a project dependency
    except ImportError:
        print("check_manifests: SKIP Kubernetes structure checks (python3-yaml not installed)")
        return
    docs = []
    for name in sorted(os.listdir(k8s_dir)):
        if name.endswith(".yaml"):
            path = os.path.join(k8s_dir, name)
            try:
                docs += [(path, d) for d in yaml.safe_load_all(read(path)) if d]
            except yaml.YAMLError as e:
                fail(path, f"is not valid YAML: {e}")
    by_kind = {}
    for path, d in docs:
        by_kind.setdefault(d.get("kind"), []).append((path, d))
    for kind in ("StatefulSet", "Service", "ConfigMap", "PodMonitor", "Kustomization"):
        if kind not in by_kind:
            fail(k8s_dir, f"no {kind}")
    if errors:
        return
    kust_path, kust = by_kind["Kustomization"][0]
    for res in kust.get("resources", []):
        if not os.path.exists(os.path.join(k8s_dir, res)):
            fail(kust_path, f"resource {res} does not exist")

    path, sts = by_kind["StatefulSet"][0]
    spec = sts["spec"]
    if spec.get("replicas") != 1:
        fail(path, "replicas must be 1 (each replica would be a separate router)")
    pod = spec["template"]
    labels = pod["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
        fail(path, "selector does not match the pod template labels")
    pod_sc = pod["spec"].get("securityContext", {})
    if pod_sc.get("runAsNonRoot") is not True:
        fail(path, "pod securityContext.runAsNonRoot must be true")
    if image_uid is not None and pod_sc.get("runAsUser") not in (None, image_uid):
        fail(path, f"runAsUser {pod_sc.get('runAsUser')} differs from the image's USER {image_uid}")
    container = pod["spec"]["containers"][0]
    csc = container.get("securityContext", {})
    if csc.get("readOnlyRootFilesystem") is not True:
        fail(path, "container securityContext.readOnlyRootFilesystem must be true")
    check_flags(path, " ".join(container.get("args", []) + container.get("command", [])), known)
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if ports.get("grpc") != 7700 or ports.get("http-metrics") != 7701:
        fail(path, f"container ports must be grpc: 7700, http-metrics: 7701 (got {ports})")
    for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = container.get(probe_name)
        if not probe:
            fail(path, f"no {probe_name}")
            continue
        if "grpc" in probe:
            # A grpc probe speaks plaintext: it fails as soon as the config turns TLS on.
            fail(path, f"{probe_name} uses a grpc probe, which breaks once TLS is on; "
                       "probe /healthz or /readyz on the HTTP port")
        for handler in ("httpGet", "grpc", "tcpSocket"):
            if handler in probe:
                port = probe[handler]["port"]
                if port not in ports and port not in ports.values():
                    fail(path, f"{probe_name} uses port {port}, which the container does not declare")
                if handler == "httpGet" and probe[handler].get("path") not in ("/healthz", "/readyz"):
                    fail(path, f"{probe_name} path should be /healthz or /readyz")
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    for mount_path, name in mounts.items():
        if name not in volumes and name not in claims:
            fail(path, f"volumeMount {mount_path} names unknown volume {name}")
    if mounts.get("/var/lib/ccrouter") not in claims:
        fail(path, "/var/lib/ccrouter must be a volumeClaimTemplate (the journal)")
    args = container.get("args", [])
    if "--config" in args:
        config_path = args[args.index("--config") + 1]
        config_dir, config_key = os.path.split(config_path)
        vol = volumes.get(mounts.get(config_dir), {})
        cm_name = vol.get("configMap", {}).get("name")
        cms = {d["metadata"]["name"]: d for _, d in by_kind["ConfigMap"]}
        if cm_name not in cms:
            fail(path, f"--config {config_path} is not on a mounted ConfigMap of this directory")
        elif config_key not in cms[cm_name].get("data", {}):
            fail(path, f"ConfigMap {cm_name} has no key {config_key}")
    if spec.get("serviceName") not in {d["metadata"]["name"] for _, d in by_kind["Service"]}:
        fail(path, f"serviceName {spec.get('serviceName')} is not a Service here")
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    if grace <= 5:
        fail(path, "terminationGracePeriodSeconds must exceed the 5 s drain")

    for spath, svc in by_kind["Service"]:
        if any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
            fail(spath, f"Service {svc['metadata']['name']} selector does not match the pods")
        for p in svc["spec"]["ports"]:
            target = p.get("targetPort", p["port"])
            if target not in ports and target not in ports.values():
                fail(spath, f"Service port {p['name']} targets {target}, not a container port")
    mpath, mon = by_kind["PodMonitor"][0]
    if mon.get("apiVersion") != "monitoring.coreos.com/v1":
        fail(mpath, "PodMonitor apiVersion must be monitoring.coreos.com/v1")
    for ep in mon["spec"]["podMetricsEndpoints"]:
        if ep.get("port") not in ports:
            fail(mpath, f"podMetricsEndpoint port {ep.get('port')} is not a container port name")
    job_label = mon["spec"].get("jobLabel")
    if labels.get(job_label) != "ccrouter":
        fail(mpath, "jobLabel must name a pod label whose value is 'ccrouter' (the rules' job)")
    annotations = pod["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/port") != "7701":
        fail(path, "prometheus.io/port annotation must be 7701 (the HTTP port serves /metrics)")


def check_k8s_cluster(cluster_dir, base_dir, known):
    """The cluster-mode overlay: its patches name what the base has, its flags
    exist, every $(VAR) it uses is declared, and it runs several replicas
    under a disruption budget."""
    try:
        import yaml
    except ImportError:
        print("check_manifests: SKIP Kubernetes cluster overlay (python3-yaml not installed)")
        return
    kust_path = os.path.join(cluster_dir, "kustomization.yaml")
    kust = yaml.safe_load(read(kust_path))
    for res in kust.get("resources", []):
        if not os.path.exists(os.path.join(cluster_dir, res)):
            fail(kust_path, f"resource {res} does not exist")
    patch_path = os.path.join(cluster_dir, "statefulset-cluster.yaml")
    patch = yaml.safe_load(read(patch_path))
    if patch["spec"].get("replicas", 0) < 3:
        fail(patch_path, "cluster mode wants at least 3 replicas (one owner, two standbys)")
    container = patch["spec"]["template"]["spec"]["containers"][0]
    line = " ".join(container.get("command", []) + container.get("args", []))
    check_flags(patch_path, line, known)
    for needed in ("--etcd-endpoints", "--advertise", "--advertise-http"):
        if needed not in line:
            fail(patch_path, f"no {needed}")
    if "--data-dir" in line:
        fail(patch_path, "--data-dir is refused with --etcd-endpoints")
    declared = {e["name"] for e in container.get("env", [])}
    for var in re.findall(r"\$\(([A-Z_]+)\)", line):
        if var not in declared:
            fail(patch_path, f"$({var}) is used but not declared in env")
    # The JSON patch removes the journal's mount by index: it must be that one.
    base = yaml.safe_load(read(os.path.join(base_dir, "statefulset.yaml")))
    mounts = base["spec"]["template"]["spec"]["containers"][0].get("volumeMounts", [])
    for p in kust.get("patches", []):
        for op in yaml.safe_load(p.get("patch", "[]")) or []:
            m = re.fullmatch(r"/spec/template/spec/containers/0/volumeMounts/(\d+)", op["path"])
            if m and (int(m.group(1)) >= len(mounts) or
                      mounts[int(m.group(1))]["mountPath"] != "/var/lib/ccrouter"):
                fail(kust_path, f"{op['path']} is not the journal's mount in the base")
    pdb = yaml.safe_load(read(os.path.join(cluster_dir, "pdb.yaml")))
    labels = base["spec"]["template"]["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in pdb["spec"]["selector"]["matchLabels"].items()):
        fail(os.path.join(cluster_dir, "pdb.yaml"), "selector does not match the pods")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--ccrouterd", required=True)
    parser.add_argument("--deploy-dir", default=os.path.dirname(here))
    args = parser.parse_args()
    d = args.deploy_dir
    known = help_flags(args.ccrouterd)

    check_systemd(os.path.join(d, "systemd", "ccrouterd.service"), known)
    uid = check_dockerfile(os.path.join(d, "Dockerfile"), known)

    cm_path = os.path.join(d, "k8s", "configmap.yaml")
    config = configmap_config(read(cm_path))
    if config is None:
        fail(cm_path, "no `config.yaml: |` block")
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(config)
        try:
            proc = subprocess.run([args.ccrouterd, "--check-config", "--config", f.name],
                                  capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                fail(cm_path, "ccrouterd --check-config rejects its config.yaml:\n    "
                     + (proc.stdout + proc.stderr).strip())
        finally:
            os.unlink(f.name)

    check_k8s(os.path.join(d, "k8s"), known, uid)
    check_k8s_cluster(os.path.join(d, "k8s-cluster"), os.path.join(d, "k8s"), known)

    if errors:
        print(f"check_manifests: {len(errors)} problem(s):", file=sys.stderr)
        for e in errors:
            print("  - " + e, file=sys.stderr)
        return 1
    print("check_manifests: OK: unit, Dockerfile and Kubernetes manifests agree with ccrouterd")
    return 0


if __name__ == "__main__":
    sys.exit(main())
