# The PPM side of the comparison on the main job's brain-MRI tissue slices
# (MNI152TissueDataset: background, grey matter, white matter), where the
# label of a pixel depends mostly on its local intensity. Everything but the
# data (and the disc class weights, dropped here) is inherited from the
# context-scenes run: the quarter-width R18-D8, PPMHead, AdamW schedule and
# seed. Training uses 128x128 random crops of the native-resolution slices;
# validation segments whole slices.
_base_ = ['./ppm-head_r18-d8_context-scenes-128x128.py']

crop_size = (128, 128)
model = dict(
    data_preprocessor=dict(
        mean=[55.0, 55.0, 55.0],
        std=[90.0, 90.0, 90.0],
        bgr_to_rgb=False,
        size=crop_size),
    decode_head=dict(num_classes=3, loss_decode=dict(class_weight=None)))

dataset_type = 'MNI152TissueDataset'
data_root = 'data/mni152'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
