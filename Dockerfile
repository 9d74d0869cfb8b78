# syntax=docker/dockerfile:1.7
#
# CPU image (default target):  docker build -t finetune-service .
# GPU image:                   docker build --target runtime-gpu -t finetune-service:gpu .
#
# Layout: a Maven build stage (with the project's wrapper), a stage that extracts the Boot
# jar into layers (dependencies change rarely, the application on every commit, so image
# pushes and pulls move only the small layer), and a runtime stage on a JRE.
#
# What needs the network and when:
# - build stage: Maven Central (dependencies, including the PyTorch 2.7.1 CPU natives,
#   which ship inside the jar; nothing is downloaded when the CPU image runs).
# - runtime-gpu only: publish.djl.ai (CUDA libtorch natives) and mlrepo.djl.ai (the
#   resnet50-imagenet weights), fetched here at build time so GPU pods start offline.
# - CPU image at run time: nothing, unless a job asks for resnet50-imagenet and it is not
#   cached under /data yet; then DJL downloads it where egress exists (DJL_OFFLINE=false),
#   otherwise the backbone reports available:false and resnet50-scratch still works.
#
# scripts/container-smoke.sh runs the same extraction and the same start command without
# Docker, so the parts that can break silently (layer names, launcher class, JVM options,
# native loading from the exploded layout) are checked in CI.

ARG JAVA_VERSION=17

############################################################################ build
FROM eclipse-temurin:${JAVA_VERSION}-jdk-jammy AS build
WORKDIR /src
COPY .mvn/ .mvn/
COPY mvnw pom.xml ./
COPY src/ src/
# The cache mount keeps ~/.m2 between builds. Tests need PostgreSQL and run in CI
# (.ci/run), not in the image build.
RUN --mount=type=cache,target=/root/.m2 ./mvnw -B -q -DskipTests package \
    && cp target/finetune-service-*.jar /app.jar

############################################################################ extract
FROM eclipse-temurin:${JAVA_VERSION}-jdk-jammy AS extract
WORKDIR /extract
COPY --from=build /app.jar app.jar
# --launcher keeps Boot's JarLauncher, so the start command does not need a class path.
RUN java -Djarmode=tools -jar app.jar extract --layers --launcher --destination layers

############################################################################ GPU assets
# Everything a GPU pod would otherwise download on first start.
FROM eclipse-temurin:${JAVA_VERSION}-jdk-jammy AS gpu-assets
# PyTorch 2.7.1 (what DJL 0.36 uses) is published for CUDA 12.8 as flavour cu128. Maven
# Central has no CUDA natives for 2.7.1 (its newest CUDA jar is pytorch-native-cu124:2.5.1),
# so they come from DJL's own download site, the same files DJL fetches at run time when
# it sees a GPU and has internet. DJL cannot be asked to pick the CUDA build on a machine
# without a GPU (it detects the flavour from the driver), so this step downloads them with
# the same URL layout DJL uses (<version>/files.txt, <flavour>/<classifier>/native/lib/*.gz).
ARG PYTORCH_VERSION=2.7.1
ARG PYTORCH_FLAVOR=cu128
ARG DJL_VERSION=0.36.0
ENV DJL_CACHE_DIR=/opt/djl-cache
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=extract /extract/layers/dependencies/BOOT-INF/lib/ /tmp/lib/
# The natives, then the JNI glue for the flavour: it ships in the pytorch-jni jar we already
# have and goes where DJL looks (<cache>/pytorch/<version>-<flavour>-<classifier>/
# <djl version>-libdjl_torch.so), so nothing is extracted or fetched at run time.
RUN set -eux; \
    base="https://publish.djl.ai/pytorch/${PYTORCH_VERSION}"; \
    dir="${DJL_CACHE_DIR}/pytorch/${PYTORCH_VERSION}-${PYTORCH_FLAVOR}-linux-x86_64"; \
    mkdir -p "$dir"; \
    curl -fsSL "$base/files.txt" | grep "^${PYTORCH_FLAVOR}/linux-x86_64/native/lib/" > /tmp/files.txt; \
    test -s /tmp/files.txt; \
    while read -r file; do \
      name="$(basename "$file" .gz)"; \
      name="$(printf '%b' "${name//%/\\x}")"; \
      curl -fsSL "$base/$file" | gunzip > "$dir/$name"; \
    done < /tmp/files.txt; \
    test -f "$dir/libtorch.so"; \
    cd /tmp && jar xf /tmp/lib/pytorch-jni-${PYTORCH_VERSION}-${DJL_VERSION}.jar \
      "jnilib/linux-x86_64/${PYTORCH_FLAVOR}/libdjl_torch.so"; \
    mv "/tmp/jnilib/linux-x86_64/${PYTORCH_FLAVOR}/libdjl_torch.so" "$dir/${DJL_VERSION}-libdjl_torch.so"
# resnet50-imagenet through DJL's own model-zoo client (same jars as the service); the
# CPU natives on this class path are enough, no GPU is needed to download.
COPY docker/Prefetch.java /tmp/Prefetch.java
RUN ENGINE_CACHE_DIR=/tmp/engine-cache OPT_OUT_TRACKING=true \
    java -cp '/tmp/lib/*' /tmp/Prefetch.java

############################################################################ runtime (GPU)
# Only the driver comes from the host (NVIDIA container toolkit); libtorch's CUDA build
# brings its own CUDA runtime, cuBLAS and cuDNN, so the small "base" CUDA image is enough.
FROM nvidia/cuda:12.8.1-base-ubuntu22.04 AS runtime-gpu
ARG PYTORCH_VERSION=2.7.1
ARG PYTORCH_FLAVOR=cu128
ENV JAVA_HOME=/opt/java/openjdk
ENV PATH="${JAVA_HOME}/bin:${PATH}"
COPY --from=eclipse-temurin:17-jre-jammy /opt/java/openjdk /opt/java/openjdk
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates tzdata locales \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app /data/artifacts \
    && chown -R app:app /data \
    && ln -s /data /app/data
WORKDIR /app
COPY --from=extract /extract/layers/dependencies/ ./
COPY --from=extract /extract/layers/spring-boot-loader/ ./
COPY --from=extract /extract/layers/snapshot-dependencies/ ./
COPY --from=extract /extract/layers/application/ ./
COPY docker/jvm.options /app/jvm.options
COPY --from=gpu-assets --chown=app:app /opt/djl-cache /opt/djl-cache

ENV OPT_OUT_TRACKING=true
# Everything is baked in: never reach out at run time.
ENV DJL_OFFLINE=true
# The baked cache lives in the image, not on the /data volume (a volume would hide it).
ENV DJL_CACHE_DIR=/opt/djl-cache
ENV ARTIFACT_ROOT=/data/artifacts
ENV PORT=8080
# Production profile: refuses to start unless DB_URL points at PostgreSQL (no silent
# embedded database per container). Unset it to try the image with the embedded H2.
ENV SPRING_PROFILES_ACTIVE=prod
# The CPU natives are also on the class path (they are in the jar); pointing DJL at the
# CUDA build explicitly makes it load that one. Flavour and version name the JNI glue.
ENV PYTORCH_LIBRARY_PATH=/opt/djl-cache/pytorch/${PYTORCH_VERSION}-${PYTORCH_FLAVOR}-linux-x86_64
ENV PYTORCH_VERSION=${PYTORCH_VERSION}
ENV PYTORCH_FLAVOR=${PYTORCH_FLAVOR}
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=4 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/actuator/health/readiness || exit 1
ENTRYPOINT ["java", "@/app/jvm.options", "org.springframework.boot.loader.launch.JarLauncher"]

############################################################################ runtime (CPU, the default target: last stage)
FROM eclipse-temurin:${JAVA_VERSION}-jre-jammy AS runtime
# curl only for HEALTHCHECK; the JRE image does not promise one.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app /data/artifacts /data/djl-cache \
    && chown -R app:app /data \
    && ln -s /data /app/data
WORKDIR /app
# /app/data -> /data: the application's relative defaults (./data/artifacts,
# ./data/djl-cache, and the H2 file ./data/finetune-db when run without the prod profile)
# all land on the volume without repeating them here.
COPY --from=extract /extract/layers/dependencies/ ./
COPY --from=extract /extract/layers/spring-boot-loader/ ./
COPY --from=extract /extract/layers/snapshot-dependencies/ ./
COPY --from=extract /extract/layers/application/ ./
COPY docker/jvm.options /app/jvm.options

# JVM: the heap gets 25% of the container's memory limit; the rest is for libtorch, whose
# tensors live outside the heap (training ResNet-50 at 224 px peaks at 3-4 GiB of native
# memory). See jvm.options; override with JAVA_TOOL_OPTIONS.
# glibc malloc, for the API process and (inherited) the training processes: no mmap for
# large blocks, no trimming, one arena, so libtorch's large activation buffers are reused
# instead of being unmapped and faulted in again on every pass. Training steps 1.3-1.9x
# faster; predictions at 16 clients 2.9x faster on a 2-core AVX-512 VM (6.4 -> 18.5 req/s),
# no faster on a 2-core AVX2 one. Memory is kept at its peak (+0.5-1 GiB RSS for the API
# process at 224 px), so size limits for the peak. Unset it to trade speed for memory.
ENV GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184:glibc.malloc.arena_max=1
# No DJL telemetry; natives come from the jar, so the engine starts offline either way.
ENV OPT_OUT_TRACKING=true
ENV DJL_OFFLINE=false
# DJL extracts ~430 MB of natives here on first start; keep it on the volume so restarts
# skip that. Artifacts (datasets, models, caches) share the volume.
ENV DJL_CACHE_DIR=/data/djl-cache
ENV ARTIFACT_ROOT=/data/artifacts
ENV PORT=8080
# Production profile: refuses to start unless DB_URL points at PostgreSQL (no silent
# embedded database per container). Unset it to try the image with the embedded H2.
ENV SPRING_PROFILES_ACTIVE=prod

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=4 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/actuator/health/readiness || exit 1
# Exec form: java is PID 1 and gets SIGTERM directly, so graceful shutdown works.
ENTRYPOINT ["java", "@/app/jvm.options", "org.springframework.boot.loader.launch.JarLauncher"]
