data "edgeplane_module_twin" "sensor" {
  device_id = "berlin-gw-1"
  module    = "sensor"
}

output "sensor_reported" {
  value = jsondecode(data.edgeplane_module_twin.sensor.reported)
}
