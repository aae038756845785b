// Text helpers of the ruler generators and scorer, with Python's semantics where the reference
// relies on them (re.sub(r'\s+', ' ', s), str.format of a template).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace starattn::ruler {

// Python's strip, rstrip, lower and isspace: engine/common/utf8.h.

// re.sub(r'\s+', ' ', s) with Python's Unicode \s, then strip(); invalid UTF-8 bytes become U+FFFD.
std::string CollapseWhitespace(std::string_view s);

// Every occurrence of `from` replaced by `to` (Python's str.replace).
std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to);
// Fills the {name} fields of a template in one pass (values are not re-scanned); an unknown
// field throws Error.
std::string FormatTemplate(
    std::string_view tmpl,
    const std::vector<std::pair<std::string_view, std::string_view>>& fields);

// Sentence ends of a text given as words (single-spaced, no empty words), approximating NLTK's
// English punkt `sent_tokenize`: a word ends a sentence when it ends in . ! or ? (possibly
// followed by closing quotes or brackets), unless it is a known abbreviation, a single-letter
// initial ("J."), or an ellipsis followed by a lower-case word. The last word always ends a
// sentence. Returns one flag per word.
std::vector<bool> SentenceEnds(const std::vector<std::string_view>& words);

// Reads a whole file; throws Error naming it when it cannot be read.
std::string ReadFile(const std::string& path);

}  // namespace starattn::ruler
