resource "edgeplane_device" "gw" {
  device_id = "berlin-gw-1"
  tags = {
    site = "berlin"
    role = "gateway"
  }
}

# What a provisioning step hands to the gateway.
output "gw_connection" {
  value     = edgeplane_device.gw.connection_info
  sensitive = true
}
