// The paper's accuracy claims checked on a sweep's results, with a verdict per length:
// reproduced, contradicted or inconclusive. The attention configurations are identified by their
// mode / block / anchor / anchor_source / anchor_positions fields in the sweep config that
// manifest.json carries (harness/lib/sweep_config.h). Every difference is paired (same samples)
// with the report's bootstrap interval, and "too few samples" (ReportOptions::min_samples) is
// always inconclusive. M is ReportOptions::margin (points).
//
// Claim (1), star ~ dense: star with block = anchor = L/4, anchor_source first, anchor_positions
// original, minus dense, on the RULER average (tasks weighted equally):
//   reproduced    the CI lies within [-M, +M]
//   contradicted  the CI lies entirely below -M
//   inconclusive  otherwise (the CI crosses -M or +M, or lies above +M)
// Each RULER task gets the same rule (informative; the average decides).
//
// Claim (2), the anchor ablation (paper, 64K NIAH: first-block anchor 97.61, previous-block anchor
// 94.20, no anchor 60.11, global 99.50): star configs equal but for anchor_source first, previous
// and none (same block, original positions), compared pairwise on the NIAH average (else the
// RULER average, else all tasks):
//   first - previous >= -M   the first block is as good an anchor as the previous one
//   previous - none  >= -M   the previous block is no worse than no anchor
//   first - none     >  0    the first-block anchor beats no anchor
// A comparison holds when its CI's lower bound clears its threshold and fails when its CI's upper
// bound is below it. The claim is reproduced when all three hold, contradicted when one fails,
// inconclusive otherwise. Each source's difference to dense is listed beside them.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "harness/lib/report.h"

namespace starattn::report {

// Fills m.claims and m.claim_notes. runs: (config label, length) -> run of this model.
void AddClaims(ModelReport& m,
               const std::map<std::pair<std::string, std::string>, const ConfigRun*>& runs,
               const nlohmann::json& manifest, const ReportOptions& o);

// The "### Claims" section of a model ("" when no claim could be checked and there is no note).
std::string RenderClaimsMarkdown(const ModelReport& m, const ReportOptions& o);

// claims.csv: model,claim,length,row,candidate,reference,n_paired,estimate,ci_lo,ci_hi,interval,
//             resampling,verdict,summary,reason
std::string ClaimsCsv(const Report& report);

}  // namespace starattn::report
