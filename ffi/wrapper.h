/* The kernel and sg3_utils headers that fencekit-sys binds. */
#include <stdint.h>
#include <stdbool.h>
#include <scsi/sg.h>
#include <linux/pr.h>
#include <scsi/sg_lib.h>
