resource "edgeplane_module" "sensor" {
  device_id      = edgeplane_device.gw.device_id
  name           = "sensor"
  image          = "registry.local:5000/sensor:1.0"
  env            = { LOG_LEVEL = "info" }
  restart_policy = "always"
  startup_order  = 1

  create_options = jsonencode({
    devices      = [{ host_path = "/dev/ttyUSB0", permissions = "rw" }]
    memory_bytes = 67108864
    health_check = { test = ["CMD", "/sensor", "-check"], interval = "30s", retries = 3 }
  })
}
