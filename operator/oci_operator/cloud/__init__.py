"""Everything an OpenStackCluster knows: OCI's classes and their typed parameters, the topology, the plan,
cluster secrets and the cluster CA. Pure functions and cryptography; no kopf, no Kubernetes client."""
