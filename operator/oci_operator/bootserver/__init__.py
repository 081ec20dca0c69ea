"""The boot server sidecar: dnsmasq (DHCP + TFTP) as a child, and HTTP for iPXE, images, preseeds, callbacks."""
