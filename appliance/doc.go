// Package appliance holds edgeplaned's systemd user unit
// (systemd/edgeplaned.service) and its default configuration
// (edgeplaned.yaml). It has no Go code; its test keeps the files valid.
package appliance
