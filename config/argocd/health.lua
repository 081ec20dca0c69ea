-- Argo CD health check for oci.openstack.org kinds (BareMetalHost, NodeRole, OpenStackCluster).
-- Install: resource.customizations.health.oci.openstack.org_<Kind> in argocd-cm (see docs/gitops.md).
-- Reads the kstatus-style status every kind carries: observedGeneration, Ready, Stalled, Reconciling,
-- and for hosts with a role, Converged.
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

local stalled, ready, reconciling = byType["Stalled"], byType["Ready"], byType["Reconciling"]
if stalled ~= nil and stalled.status == "True" then
  return result("Degraded", say(stalled))
end
if ready == nil then
  return result("Progressing", "No Ready condition yet")
end
if ready.status ~= "True" then
  if reconciling ~= nil and reconciling.status == "True" then
    return result("Progressing", say(reconciling))
  end
  return result("Degraded", say(ready))
end
local converged = byType["Converged"]
if converged ~= nil and converged.status ~= "True" then
  if converged.reason == "Converging" or converged.reason == "NotRendered" then
    return result("Progressing", say(converged))
  end
  return result("Degraded", say(converged))
end
return result("Healthy", say(ready))
