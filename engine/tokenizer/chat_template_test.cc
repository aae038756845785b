#include "engine/tokenizer/chat_template.h"

#include "engine/common/testing.h"

TEST(ChatTemplate, Placeholder) {}
