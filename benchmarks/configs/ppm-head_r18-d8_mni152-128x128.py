# The PPM side of the comparison on the main job's brain-MRI tissue slices
# (background, grey matter, white matter), where the label of a pixel depends
# mostly on its local intensity. The data is the main job's source folder
# (psp_plugin.fit.mni152_source) imported as a prepared dataset
# (psp_plugin.data.import_dataset), read the way `psp-plugin fit` configs read
# it: PreparedSegDataset + LoadNormalizedImage, no mean/std in the model.
# benchmarks/ppm_vs_fcn.py fills in data_root and the import's normalization.
# Everything but the data (and the disc class weights, dropped here) is
# inherited from the context-scenes run: the quarter-width R18-D8, PPMHead,
# AdamW schedule and seed. Training uses 128x128 random crops of the
# native-resolution slices; validation segments whole slices.
_base_ = ['./ppm-head_r18-d8_context-scenes-128x128.py']

crop_size = (128, 128)
model = dict(
    data_preprocessor=dict(mean=None, std=None, bgr_to_rgb=False, size=crop_size),
    backbone=dict(in_channels=1),  # grey slices import as one channel
    decode_head=dict(num_classes=3, loss_decode=dict(class_weight=None)))

dataset_type = 'PreparedSegDataset'
data_root = 'data/mni152_prepared'
normalization = None  # the "normalization" of the import's dataset.json; set by ppm_vs_fcn.py
train_pipeline = [
    dict(type='LoadNormalizedImage', normalization=normalization),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadNormalizedImage', normalization=normalization),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True, type=dataset_type, data_root=data_root, split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    dataset=dict(
        _delete_=True, type=dataset_type, data_root=data_root, split='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
