resource "edgeplane_route" "sensor_to_filter" {
  device_id = edgeplane_device.gw.device_id
  name      = "sensor-to-filter"
  route     = "FROM /messages/modules/sensor/outputs/temperature INTO BrokeredEndpoint(\"/modules/filter/inputs/input1\")"
}

resource "edgeplane_route" "alerts_upstream" {
  device_id            = edgeplane_device.gw.device_id
  name                 = "alerts-upstream"
  route                = "FROM /messages/modules/filter/outputs/alerts WHERE $body.temperature > 30 INTO $upstream"
  priority             = 0
  time_to_live_seconds = 86400
}
