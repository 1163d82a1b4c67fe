"""The raw bodies the Python `kubernetes` client receives: an object, a list, a discovery document and
an error, as bytes; prints them as JSON.

Usage: json_bodies.py <kubeconfig>
"""
import json
import sys

from kubernetes import client, config

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-nl"), data={"a": "1"})
bodies = {}
bodies["created"] = v1.create_namespaced_config_map(
    "default", cm, _preload_content=False).data.decode()
bodies["read"] = v1.read_namespaced_config_map("py-nl", "default", _preload_content=False).data.decode()
bodies["list"] = v1.list_namespaced_config_map("default", _preload_content=False).data.decode()
bodies["discovery"] = client.CoreApi().get_api_versions(_preload_content=False).data.decode()
try:
    v1.create_namespaced_config_map("default", cm)
except client.ApiException as e:
    bodies["conflict"] = e.body
print(json.dumps(bodies))
