# kscope container image: built from source on Debian 12, with the package
# list the README and CI use (deploy/debian-packages.txt).
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(grep -v '^#' deploy/debian-packages.txt) \
 && cmake -S . -B build -DKSCOPE_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)"

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libbpf1 libelf1 zlib1g libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libcivetweb1 libyaml-cpp0.7 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/kscope /usr/bin/kscope
# Loading BPF needs CAP_BPF, CAP_PERFMON (and CAP_SYS_ADMIN to mount tracefs
# when the host has not): run as root and drop the rest in the pod spec.
EXPOSE 9822
ENTRYPOINT ["/usr/bin/kscope"]
