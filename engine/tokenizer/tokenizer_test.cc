#include "engine/tokenizer/tokenizer.h"

#include "engine/common/testing.h"

TEST(Tokenizer, Placeholder) {}
