"""Body geometry: rotations (roma), the SMPL-24 skeleton and forward kinematics, body meshes."""
from .skeleton import (JOINT_NAMES, JOINT_INDEX, LOWER_BODY, MIRROR, NUM_JOINTS, PARENTS, UPPER_BODY, Skeleton,
                       forward_kinematics, joints_from_rotvec, load_skeleton)

__all__ = ["JOINT_NAMES", "JOINT_INDEX", "LOWER_BODY", "MIRROR", "NUM_JOINTS", "PARENTS", "UPPER_BODY", "Skeleton",
           "forward_kinematics", "joints_from_rotvec", "load_skeleton"]
