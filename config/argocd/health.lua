-- Argo CD health check for oci.openstack.org kinds (BareMetalHost, NodeRole, OpenStackCluster).
-- Install: resource.customizations.health.oci.openstack.org_<Kind> in argocd-cm (see docs/gitops.md).
-- Reads the kstatus-style status every kind carries: observedGeneration, Ready, Stalled, Reconciling,
-- and for hosts with a role, Converged. An OpenStackCluster's roll-out adds to it: its current step in the
-- message, Suspended while paused, and Degraded while any role has a failed host (status.roles.*.failed).
local hs = {}
local function result(status, message)
  hs.status = status
  hs.message = message
  return hs
end

if obj.status == nil then
  return result("Progressing", "Waiting for the operator to report a status")
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  return result("Progressing", "Waiting for the operator to observe generation " .. generation)
end

local byType = {}
for _, condition in ipairs(obj.status.conditions or {}) do
  byType[condition.type] = condition
end
local function say(condition)
  local text = condition.reason or ""
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end

-- A condition judged against an older generation says nothing about the current spec (kstatus checks only
-- status.observedGeneration; conditions carry their own, and an edit may be recorded before it is judged).
if generation ~= nil then
  for _, condition in ipairs(obj.status.conditions or {}) do
    if condition.observedGeneration ~= nil and condition.observedGeneration < generation then
      return result("Progressing", "Waiting for the operator to judge " .. condition.type .. " at generation " .. generation)
    end
  end
end

-- The cluster's roll-out: "controller 2/3" says where it is; roles with failed hosts, what is wrong.
local rollout = obj.kind == "OpenStackCluster" and obj.status.rollout or nil
local function withStep(text)
  if rollout ~= nil and rollout.step ~= nil and rollout.step ~= "" then
    return text .. " (step " .. rollout.step .. ")"
  end
  return text
end
local failing = {}
if obj.kind == "OpenStackCluster" and type(obj.status.roles) == "table" then
  for role, counts in pairs(obj.status.roles) do
    if type(counts) == "table" and (counts.failed or 0) > 0 then
      table.insert(failing, role .. " " .. counts.failed .. "/" .. (counts.assigned or counts.desired or 0))
    end
  end
  table.sort(failing)  -- pairs() has no order; the message must not flap
end
local function withFailing(text)
  if #failing > 0 then
    return text .. "; failed hosts: " .. table.concat(failing, ", ")
  end
  return text
end

local stalled, ready, reconciling = byType["Stalled"], byType["Ready"], byType["Reconciling"]
local paused = rollout ~= nil and rollout.phase == "Paused"
-- A pause is the user's choice, not a fault, whether or not the operator calls it Stalled.
if paused and #failing == 0 and stalled ~= nil and string.find(stalled.reason or "", "Paused", 1, true) then
  stalled = nil
end
if stalled ~= nil and stalled.status == "True" then
  return result("Degraded", withFailing(withStep(say(stalled))))
end
if #failing > 0 then
  return result("Degraded", withStep(withFailing(ready ~= nil and say(ready) or "Hosts failed")))
end
if paused then
  return result("Suspended", withStep("Roll-out paused" .. (ready ~= nil and ": " .. say(ready) or "")))
end
-- kstatus calls Reconciling=True in progress whatever Ready says (a scale-up of a Ready cloud): so do we.
if reconciling ~= nil and reconciling.status == "True" then
  return result("Progressing", withStep(say(reconciling)))
end
if ready == nil then
  return result("Progressing", "No Ready condition yet")
end
if ready.status ~= "True" then
  return result("Degraded", withStep(say(ready)))
end
local converged = byType["Converged"]
if converged ~= nil and converged.status ~= "True" then
  if converged.reason == "Converging" or converged.reason == "NotRendered" then
    return result("Progressing", say(converged))
  end
  return result("Degraded", say(converged))
end
return result("Healthy", say(ready))
