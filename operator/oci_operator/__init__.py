"""oci-operator: OpenStack Cluster Installer as a Kubernetes operator."""

__version__ = "0.1.0"
