# cmake -DSRC=<source dir> -DIN=<version.h.in> -DOUT=<version.h>
#       -DPROJECT_VERSION=<x.y.z> -P revision.cmake
# Writes OUT with the source tree's git commit as KSCOPE_REVISION ("unknown"
# outside a checkout). Run at every build: a revision looked up at configure
# time goes stale as commits land. configure_file leaves OUT untouched when
# nothing changed, so nothing rebuilds then.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE KSCOPE_REVISION OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)
if(NOT KSCOPE_REVISION)
  set(KSCOPE_REVISION unknown)
endif()
configure_file(${IN} ${OUT} @ONLY)
