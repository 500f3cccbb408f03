# Tests of the deployment files, included from deploy/CMakeLists.txt.
#   ctest -L deploy
# deploy_rules: promtool check config / check rules / test rules, and every
#   metric and label named by the alerts, recording rules, rule tests and the
#   Grafana dashboard exists in `ccrouterd --list-metrics`.
# deploy_manifests: the k8s manifests and the ConfigMap's config, the systemd
#   unit and the Dockerfile agree with ccrouterd (parts needing a missing
#   tool are skipped, never failed).
add_test(NAME deploy_rules
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/check_rules.sh $<TARGET_FILE:ccrouterd>)
add_test(NAME deploy_manifests
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/check_manifests.sh $<TARGET_FILE:ccrouterd>)
set_tests_properties(deploy_rules deploy_manifests PROPERTIES LABELS deploy TIMEOUT 120)
