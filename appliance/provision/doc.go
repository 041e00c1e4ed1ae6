// Package provision holds the appliance's first-boot provisioning: the
// edgeplane-provision script, its systemd unit, its udev rule and the
// drop-ins that keep edgeplaned stopped until the gateway is provisioned.
// The image build (image/build.sh) installs these files; this package has
// no Go code of its own, only tests that run the real script against real
// FAT images.
package provision
