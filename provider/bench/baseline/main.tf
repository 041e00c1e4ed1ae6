# Baseline: as many terraform_data resources as the benchmark fleet has
# resources, in the same shape (devices, then their modules, twins and
# routes, each block iterating over the one before), to measure Terraform's
# own overhead in the same run.

variable "devices" {
  type    = number
  default = 200
}

locals {
  ids = toset([for i in range(var.devices) : format("bench-gw-%04d", i)])
}

resource "terraform_data" "gw" {
  for_each = local.ids
  input    = { device_id = each.key, tags = { fleet = "bench" } }
}

resource "terraform_data" "m" {
  for_each = {
    for p in setproduct(keys(terraform_data.gw), ["sensor", "filter", "forwarder"]) :
    "${p[0]}/${p[1]}" => { device_id = terraform_data.gw[p[0]].output.device_id, name = p[1] }
  }
  input = merge(each.value, { create_options = jsonencode({ memory_bytes = 33554432 }) })
}

resource "terraform_data" "t" {
  for_each = terraform_data.m
  input    = { device_id = each.value.output.device_id, desired = jsonencode({ interval_ms = 1000 }) }
}

resource "terraform_data" "r" {
  for_each = {
    for p in setproduct(keys(terraform_data.gw), ["sensor-to-filter", "filter-to-upstream"]) :
    "${p[0]}/${p[1]}" => { device_id = terraform_data.gw[p[0]].output.device_id, name = p[1] }
  }
  input = each.value
}
