resource "edgeplane_module_twin" "sensor" {
  device_id = edgeplane_device.gw.device_id
  module    = edgeplane_module.sensor.name
  desired = jsonencode({
    interval_ms = 1000
    thresholds  = { high = 30.5, low = -5 }
  })
}

output "sensor_firmware" {
  value = try(jsondecode(edgeplane_module_twin.sensor.reported).firmware, null)
}
