#include "engine/common/error.h"
