# kscope container image: built from source on Debian 12, with the package
# list the README and CI use (deploy/debian-packages.txt: its build section;
# the test section's browser and servers stay out of the image).
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(sed '/^# test/,$d' deploy/debian-packages.txt | grep -v '^#') \
 && cmake -S . -B build -DKSCOPE_BUILD_TESTS=OFF -DKSCOPE_BUILD_BENCH=OFF \
 && cmake --build build -j"$(nproc)"

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libbpf1 libelf1 zlib1g libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libcivetweb1 libyaml-cpp0.7 libncursesw6 libssl3 libcrypt1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/kscope /usr/bin/kscope
# Who runs kscope: root (uid 0) with every capability dropped but the few BPF
# needs, dropped by the runtime (deploy/kubernetes/daemonset.yaml:
# drop ALL, add BPF, PERFMON; docker run --cap-drop=ALL --cap-add=BPF
# --cap-add=PERFMON; add SYS_RESOURCE on kernels before 5.11, which charge
# BPF maps to RLIMIT_MEMLOCK). Root because:
# - loading and attaching the probes needs CAP_BPF and CAP_PERFMON, and the
#   syscall tracepoints' ids are in /sys/kernel/tracing, which only root may
#   read (mode 0700): a non-root user would need CAP_DAC_READ_SEARCH on top;
# - a non-root USER would get no usable capabilities: Kubernetes hands
#   non-root containers no ambient capabilities, so they would have to be
#   file capabilities (setcap on the binary), which exec honours only
#   without no_new_privs, i.e. with allowPrivilegeEscalation left on: a
#   weaker pod than root with a fixed, minimal set and no_new_privs.
# uid 0 in a container holds no more than the capabilities it is given;
# tracefs comes read-only from the host (CAP_SYS_ADMIN would only be needed
# to mount it).
USER 0:0
EXPOSE 9822
ENTRYPOINT ["/usr/bin/kscope"]
