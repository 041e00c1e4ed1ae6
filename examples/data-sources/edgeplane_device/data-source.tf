data "edgeplane_device" "gw" {
  device_id = "berlin-gw-1"
}

output "gw_caught_up" {
  value = data.edgeplane_device.gw.applied_version == data.edgeplane_device.gw.desired_version
}

output "gw_failing_modules" {
  value = [for name, m in data.edgeplane_device.gw.modules : name if m.status != "running"]
}
