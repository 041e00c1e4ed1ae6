data "edgeplane_devices" "berlin" {
  tags = { site = "berlin" }
}

# Give every Berlin gateway the same watchdog module.
resource "edgeplane_module" "watchdog" {
  for_each  = toset(data.edgeplane_devices.berlin.ids)
  device_id = each.value
  name      = "watchdog"
  image     = "registry.local:5000/watchdog:2.0"
}
