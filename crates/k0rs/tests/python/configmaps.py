"""Lists and watches ConfigMaps with the Python `kubernetes` client; prints what it saw as JSON.

Usage: configmaps.py <kubeconfig>
"""
import json
import sys

from kubernetes import client, config, watch

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
seen = {}

for name in ("py-a", "py-b"):
    v1.create_namespaced_config_map(
        "default",
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"from": "python"}),
                           data={"name": name}),
    )
listed = v1.list_namespaced_config_map("default", label_selector="from=python")
seen["listed"] = sorted(cm.metadata.name for cm in listed.items)
seen["data"] = listed.items[0].data

# Changes after the list arrive on a watch from the list's resourceVersion, in order.
v1.create_namespaced_config_map(
    "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-c", labels={"from": "python"})))
v1.patch_namespaced_config_map("py-a", "default", {"data": {"name": "patched"}})
v1.delete_namespaced_config_map("py-b", "default")
events = []
w = watch.Watch()
for event in w.stream(v1.list_namespaced_config_map, "default", label_selector="from=python",
                      resource_version=listed.metadata.resource_version, timeout_seconds=10):
    events.append([event["type"], event["object"].metadata.name])
    if event["type"] == "DELETED":
        w.stop()
seen["events"] = events

try:
    v1.read_namespaced_config_map("py-b", "default")
except client.ApiException as e:
    seen["missing"] = [e.status, json.loads(e.body)["reason"]]
print(json.dumps(seen))
