// What cgroup paths and mountinfo say: units, containers, pods, mounts.
#include "cgroup/metadata.h"

#include <gtest/gtest.h>

namespace kscope {
namespace {

const std::string kId = std::string(64, 'a').replace(0, 6, "0123ef");

TEST(ParseCgroupPath, SystemdService) {
  auto m = parse_cgroup_path("/system.slice/ssh.service");
  EXPECT_EQ(m.systemd_unit, "ssh.service");
  EXPECT_EQ(m.container_id, "");
  EXPECT_EQ(m.pod_uid, "");
}

TEST(ParseCgroupPath, KubeletSystemdDriverPodAndContainer) {
  auto m = parse_cgroup_path(
      "/kubepods.slice/kubepods-besteffort.slice/"
      "kubepods-besteffort-pod1a2b3c4d_0000_4e5f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-" +
      kId + ".scope");
  EXPECT_EQ(m.pod_uid, "1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(m.container_id, kId);
  EXPECT_EQ(m.systemd_unit, "cri-containerd-" + kId + ".scope");
}

TEST(ParseCgroupPath, GuaranteedPodHasNoQosSlice) {
  auto m = parse_cgroup_path(
      "/kubepods.slice/kubepods-pod1a2b3c4d_0000_4e5f_8a9b_0c1d2e3f4a5b.slice/crio-" + kId +
      ".scope");
  EXPECT_EQ(m.pod_uid, "1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(m.container_id, kId);
}

TEST(ParseCgroupPath, CgroupfsDriverAndDocker) {
  auto m = parse_cgroup_path("/kubepods/burstable/pod1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b/" + kId);
  EXPECT_EQ(m.pod_uid, "1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(m.container_id, kId);
  EXPECT_EQ(m.systemd_unit, "");
  EXPECT_EQ(parse_cgroup_path("/system.slice/docker-" + kId + ".scope").container_id, kId);
}

TEST(ParseCgroupPath, RootAndPlainSlices) {
  auto m = parse_cgroup_path("/");
  EXPECT_EQ(m.systemd_unit, "");
  EXPECT_EQ(parse_cgroup_path("/user.slice").systemd_unit, "");
  EXPECT_EQ(parse_cgroup_path("/system.slice/docker-short.scope").container_id, "");
}

// Found by test/fuzz/cgroup_path_fuzz: any 36 characters after "pod" were
// taken for a pod uid.
TEST(ParseCgroupPath, PodUidHasTheFormOfAUid) {
  EXPECT_EQ(parse_cgroup_path("/kubepods/pod" + std::string(36, 'x')).pod_uid, "");
  EXPECT_EQ(parse_cgroup_path("/podcast-recorder-service-instance-one-0").pod_uid, "");
  EXPECT_EQ(
      parse_cgroup_path("/kubepods.slice/kubepods-pod1a2b3c4d_0000_4e5f_8a9b_0c1d2e3f4azz.slice")
          .pod_uid,
      "");
  EXPECT_EQ(
      parse_cgroup_path("/kubepods.slice/kubepods-pod1a2b3c4d_0000_4e5f_8a9b_0c1d2e3f4a5b.slice")
          .pod_uid,
      "1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b");
}

// A static pod's uid is the kubelet's 32-hex hash of its manifest, in the
// cgroup name and the pods log directory alike.
TEST(ParseCgroupPath, StaticPodUidIs32Hex) {
  const std::string hash = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  EXPECT_EQ(parse_cgroup_path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
                              hash + ".slice/cri-containerd-" + std::string(64, 'a') + ".scope")
                .pod_uid,
            hash);
  EXPECT_EQ(parse_cgroup_path("/kubepods/burstable/pod" + hash).pod_uid, hash);
  EXPECT_EQ(parse_cgroup_path("/kubepods/burstable/pod" + hash.substr(1) + "g").pod_uid, "");
  auto e = PodIndex::parse_entry("kube-system_etcd-node1_" + hash);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->first, hash);
  EXPECT_EQ(e->second.name, "etcd-node1");
}

TEST(FindCgroup2Mount, HybridAndPureHosts) {
  std::string hybrid =
      "25 1 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
      "26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid shared:4 - cgroup2 cgroup2 rw\n"
      "27 25 0:25 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
  EXPECT_EQ(find_cgroup2_mount(hybrid), "/sys/fs/cgroup/unified");
  EXPECT_EQ(find_cgroup2_mount("30 1 0:26 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw\n"),
            "/sys/fs/cgroup");
  EXPECT_EQ(find_cgroup2_mount("30 1 0:26 / /a\\040b rw - cgroup2 none rw\n"), "/a b");
  EXPECT_EQ(find_cgroup2_mount("27 25 0:25 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw\n"),
            std::nullopt);
}

TEST(PodIndex, ParsesKubeletLogDirectoryNames) {
  auto e = PodIndex::parse_entry(
      "kube-system_coredns-5d78c9869d-abcde_1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->first, "1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(e->second.namespace_, "kube-system");
  EXPECT_EQ(e->second.name, "coredns-5d78c9869d-abcde");
  EXPECT_FALSE(PodIndex::parse_entry("."));
  EXPECT_FALSE(PodIndex::parse_entry("a_b"));
  EXPECT_FALSE(PodIndex::parse_entry("a_b_short"));
  EXPECT_FALSE(PodIndex::parse_entry("_b_1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b"));
  EXPECT_FALSE(PodIndex::parse_entry("a_b_" + std::string(36, 'x')));
}

}  // namespace
}  // namespace kscope
