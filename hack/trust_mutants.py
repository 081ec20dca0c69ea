"""Issue 16 (trust lane): each fix undone one at a time, the test that proves it run against the
result; every line must say CAUGHT. Usage: hack/verify-trust-mutants [NAME-PREFIX...] (slow: each
mutant starts an API server; needs the kube binaries on PATH, as hack/test sets up)."""

import os
import subprocess
import sys
from pathlib import Path

os.chdir(Path(__file__).resolve().parent.parent)
T = "tests/integration/test_bootserver_http.py::"
MUTS = {
 "M1 boot server reads host Secrets from the served namespaces (not the system one)":
   ("operator/oci_operator/bootserver/main.py", "system = informer.secrets(config.system_namespace)", "system = informer.secrets(config.namespace)",
    [T+"test_a_forged_boot_token_in_the_tenants_namespace_opens_nothing"]),
 "M2 the iPXE token is not spent by the preseed":
   ("operator/oci_operator/bootserver/directory.py", "            if (uid_of(host), token.boot_id) in self._preseeds_served:\n                return False\n        report = self.report(host)\n        return report is None or report.step not in _AFTER_PRESEED", "            pass\n        return True",
    [T+"test_the_ipxe_token_is_spent_by_the_preseed"]),
 "M3a accepts()/job_token ignores state and current job":
   ("operator/oci_operator/bootserver/directory.py", "        prov = host.status.provisioning\n        if prov is None or prov.state not in JOB_MODES or not prov.boot_id:\n            return None\n        token = self.token(host)\n        return token if token is not None and token.boot_id == prov.boot_id else None",
    "        return self.token(host)", [T+"test_earlier_jobs_tokens_open_nothing"]),
 "M3b the agent credential opens a host that is not provisioned":
   ("operator/oci_operator/bootserver/directory.py", "        if prov is None or prov.state is not ProvisioningState.PROVISIONED:\n            return False\n        with self._lock:\n            credential, successor",
    "        with self._lock:\n            credential, successor", [T+"test_the_agent_credential_is_handed_over_once_and_opens_only_a_provisioned_host"]),
 "M8 the agent credential is handed over more than once":
   ("operator/oci_operator/bootserver/directory.py", "if credential is None or key in self._handed_over:", "if credential is None:",
    [T+"test_the_agent_credential_is_handed_over_once_and_opens_only_a_provisioned_host"]),
 "M4 a duplicated MAC: the last host wins":
   ("operator/oci_operator/bootserver/directory.py", "self._by_mac = {mac: hosts[0] for mac, hosts in by_mac.items() if len(hosts) == 1}",
    "self._by_mac = {mac: hosts[-1] for mac, hosts in by_mac.items()}", [T+"test_the_boot_server_refuses_a_mac_claimed_where_the_operator_does_not_look"]),
 "M5 host Secrets are not deleted with the host":
   ("operator/oci_operator/handlers/baremetalhost.py", "        await asyncio.to_thread(k8s.delete_host_secrets, config.system_namespace, str(body.metadata.uid or \"\"))",
    "        return", [T+"test_a_hosts_secrets_go_with_it"]),
 "M6 a Secret of the needed name is overwritten whoever owns it":
   ("operator/oci_operator/k8s/client.py", "    if meta is None or (meta.labels or {}).get(HOST_UID_LABEL) != host_uid:\n", "    if meta is None:\n",
    [T+"test_a_secret_the_operator_does_not_own_is_never_overwritten"]),
 "M7 the preseed carries the iPXE token":
   ("operator/oci_operator/bootserver/scripts.py", "token=token.job,", "token=token.value,", [T+"test_the_ipxe_token_is_spent_by_the_preseed"]),
 "M9 the agent trusts any server (no pinned certificate)":
   ("operator/oci_operator/agent/oci_agent.py", "    context.verify_mode = ssl.CERT_REQUIRED\n    context.load_verify_locations(cadata=certificate)\n",
    "    context.verify_mode = ssl.CERT_NONE\n", [T+"test_the_agent_talks_only_to_the_server_whose_certificate_it_pinned"]),
 "M10 the operator ignores a MAC another host claims":
   ("operator/oci_operator/handlers/baremetalhost.py", "        if others:\n", "        if others and False:\n",
    [T+"test_a_mac_claimed_in_two_namespaces_boots_neither"]),
 "M11 chart: the old rules (Secrets in every namespace, no system namespace roles)":
   ("charts/oci-operator/templates/_helpers.tpl", "  resources: [secrets]\n  verbs: [get]", "  resources: [secrets]\n  verbs: [get, list, watch, create, update]",
    ["tests/integration/test_chart_rbac.py"]),
 "M12 rotation: the old credential is never retired":
   ("operator/oci_operator/k8s/client.py", "    if found is None or found[0].get(\"next\") != successor:\n        return\n", "    return\n",
    [T+"test_a_running_nodes_agent_credential_rotates"]),
}
only = sys.argv[1:]
caught = True
for name, (path, old, new, tests) in MUTS.items():
    if only and not any(name.startswith(o) for o in only):
        continue
    text = open(path).read()
    assert text.count(old) == 1, (name, text.count(old))
    open(path, "w").write(text.replace(old, new))
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests], capture_output=True, text=True, timeout=900)
        last = (r.stdout.strip().splitlines() or ["?"])[-1]
        caught = caught and r.returncode != 0
        print(f"{name}: {'CAUGHT' if r.returncode else 'NOT CAUGHT'} ({last})", flush=True)
    finally:
        open(path, "w").write(text)  # the file as it was, uncommitted edits included
sys.exit(0 if caught else 1)
