// microace's board proxy: the unix port's standard feature set, built 32-bit (-m32 in
// mpconfigvariant.mk) so that objects have an ESP32's size; the unix Makefile forces 16-bit
// big-integer digits (MPZ_DIG_SIZE=16), as on an ESP32.
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#include "variants/mpconfigvariant_common.h"
